"""Great Expectations privacy expectations, suites and ``run_validation()``.

The release contract: every dataset that leaves the company passes a suite of these checks.
Importing the package does not import GX (slow, ~5 s); the public functions below are loaded
on first use from ``expectations.validation``. GX usage analytics are switched off before GX is
ever imported.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

__all__ = [
    "Failure",
    "SuiteConfigError",
    "TableRuleFailed",
    "ValidationOutcome",
    "Validator",
    "load_suite",
    "run_validation",
    "split_valid_rows",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from expectations import validation

        return getattr(validation, name)
    raise AttributeError(f"module 'expectations' has no attribute {name!r}")
