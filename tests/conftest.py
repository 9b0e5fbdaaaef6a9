"""Test settings shared by every test: hermetic Airflow home and no GX analytics.

Environment variables are set at import time, before any test module imports Airflow,
so Airflow never reads or writes the developer's own home or the demo's metadata.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="anonrelease-airflow-"))

os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
for _var in (
    "ANONRELEASE_HMAC_KEY",
    "ANONRELEASE_HMAC_KEY_FILE",
    "ANONRELEASE_CONFIG",
    "ANONRELEASE_SOURCE_URL",
    "ANONRELEASE_WORKDIR",
    "ANONRELEASE_RELEASE_ROOT",
    "ANONRELEASE_DEMO",
):
    os.environ.pop(_var, None)
