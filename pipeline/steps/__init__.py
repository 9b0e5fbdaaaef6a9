"""The steps of a release, one module per DAG task, each a plain function of a RunContext.

The Airflow DAG and ``anonrelease run`` call exactly these functions in the same order, so a
nightly run and a manual run write the same bytes. Each step reads the previous step's files,
writes its own zone of the run folder, and returns a small JSON-able report.
"""

from __future__ import annotations

STEPS = (
    "extract",
    "validate_raw",
    "apply_customer_requests",
    "deidentify",
    "anonymize",
    "build_tables",
    "validate_release",
    "publish",
)
