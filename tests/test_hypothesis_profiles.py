"""The Hypothesis profile is the one named by ANONRELEASE_HYPOTHESIS_PROFILE, CI or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PROBE = (
    "import json, conftest\n"
    "from hypothesis import settings\n"
    "s = settings.default\n"
    "print(json.dumps({'name': settings.get_current_profile_name(),"
    " 'derandomize': s.derandomize, 'database': s.database is not None,"
    " 'deadline': s.deadline, 'max_examples': s.max_examples}))\n"
)


def _profile(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k != "ANONRELEASE_HYPOTHESIS_PROFILE"}
    clean.pop("CI", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=TESTS,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("ci", [None, "true"])
def test_default_is_dev_even_when_ci_is_set(ci: str | None) -> None:
    profile = _profile(**({"CI": ci} if ci else {}))
    assert profile["name"] == "dev"
    assert not profile["derandomize"] and profile["database"] and profile["deadline"] is None


def test_ci_profile_is_chosen_explicitly() -> None:
    profile = _profile(ANONRELEASE_HYPOTHESIS_PROFILE="ci")
    assert profile == {
        "name": "ci",
        "derandomize": True,
        "database": False,
        "deadline": None,
        "max_examples": 100,
    }


def test_explore_raises_every_budget() -> None:
    profile = _profile(ANONRELEASE_HYPOTHESIS_PROFILE="explore", CI="true")
    assert profile["name"] == "explore" and profile["max_examples"] >= 1000
