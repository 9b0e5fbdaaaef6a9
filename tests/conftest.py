"""Test settings shared by every test: hermetic Airflow home, no GX analytics, and the
Hypothesis profile.

Environment variables are set at import time, before any test module imports Airflow,
so Airflow never reads or writes the developer's own home or the demo's metadata.

Hypothesis profiles, chosen by ``ANONRELEASE_HYPOTHESIS_PROFILE`` only (default ``dev``):

- ``ci``: derandomized (the same examples on every run), no example database, blobs printed
  so a failure can be reproduced with ``@reproduce_failure``;
- ``dev``: random examples, failures replayed from the local database (``.hypothesis/``);
- ``explore``: like ``dev`` with 1000 examples per property test (``make test-explore``).

Hypothesis loads its own ``ci`` profile when it sees ``CI`` in the environment; the explicit
choice below replaces it, so a run behaves the same on a laptop and in CI for the same profile
(``--hypothesis-profile`` on the command line still wins: it is loaded after this file).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import is_hypothesis_test, settings
from property_budget import EXPLORE

PROFILE_VARIABLE = "ANONRELEASE_HYPOTHESIS_PROFILE"
# parent = Hypothesis' defaults: a profile registered without one inherits the profile loaded
# now, which is Hypothesis' own "ci" (derandomized) whenever CI is set
_DEFAULTS = settings.get_profile("default")
settings.register_profile(
    "ci", _DEFAULTS, derandomize=True, database=None, deadline=None, print_blob=True
)
settings.register_profile("dev", _DEFAULTS, derandomize=False, deadline=None)
settings.register_profile(EXPLORE, _DEFAULTS, max_examples=1000, deadline=None)
settings.load_profile(os.environ.get(PROFILE_VARIABLE, "dev"))

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


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects anything
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses ``@given`` is a ``property`` test (``pytest -m property``)."""
    for item in items:
        if isinstance(item, pytest.Function) and is_hypothesis_test(item.obj):
            item.add_marker(pytest.mark.property)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """The hermetic Airflow home's metadata database, migrated once for the session's DAG
    tests (``dag.test()``); tests that need their own Airflow home migrate it themselves."""
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
        timeout=300,
    )
    yield
