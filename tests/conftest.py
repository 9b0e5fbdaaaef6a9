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
    "ANONRELEASE_SIGNING_KEY_FILE",
    "ANONRELEASE_LEDGER_URL",
):
    os.environ.pop(_var, None)
# A fixed test-only Ed25519 seed (hex): every run and publish in the tests signs with it.
# Tests of a missing or wrong key change it with monkeypatch.
TEST_SIGNING_SEED = "5b" * 32
os.environ["ANONRELEASE_SIGNING_KEY"] = TEST_SIGNING_SEED
