"""The DP budget ledger: an overspend is refused with the remaining budget; a release id
spends once; two processes racing for one budget spend exactly what it allows; a rerun gets
the stored noisy values byte for byte; the SQLite file is owner-only."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.release.budget_ledger import (
    BUDGET_FILE,
    BudgetExceededError,
    BudgetLedger,
    budget_url,
    calendar_window,
    frame_sha256,
    noisy_release,
    open_budget_ledger,
    release_id,
)
from pipeline.settings.storage import loose_modes
from transforms.errors import ConfigurationError, InternalError, PrivacyCheckFailed

REPO = Path(__file__).resolve().parents[1]


def _ledger(tmp_path: Path, budget: float = 1.0) -> BudgetLedger:
    return open_budget_ledger(budget_url(None, tmp_path / "work"), {"acme": budget})


def test_overspend_is_refused_with_the_remaining_budget(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    ledger.spend("acme", "2026", "r1", 0.3)
    ledger.spend("acme", "2026", "r2", 0.45)
    with pytest.raises(BudgetExceededError) as caught:
        ledger.spend("acme", "2026", "r3", 0.5)
    err = caught.value
    assert isinstance(err, PrivacyCheckFailed)
    assert err.remaining == pytest.approx(0.25) and err.requested == 0.5
    message = str(err)
    assert "0.25" in message and "0.5" in message and "acme" in message and "2026" in message
    assert ledger.remaining("acme", "2026") == pytest.approx(0.25)  # the refusal spent nothing
    assert ledger.remaining("acme", "2027") == 1.0  # another window, another budget


def test_spending_exactly_the_budget_is_allowed_despite_float_sums(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    for i, eps in enumerate([0.3, 0.3, 0.4]):  # 0.3 + 0.3 + 0.4 > 1.0 in binary
        ledger.spend("acme", "2026", f"r{i}", eps)
    assert ledger.remaining("acme", "2026") == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(BudgetExceededError):
        ledger.spend("acme", "2026", "r9", 1e-6)


def test_the_same_release_id_spends_once(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    first = ledger.spend("acme", "2026", "night-1", 0.6)
    again = ledger.spend("acme", "2026", "night-1", 0.6)
    assert first.new and not again.new
    assert ledger.remaining("acme", "2026") == pytest.approx(0.4) == again.remaining
    with pytest.raises(InternalError):  # the same id with other parameters is a bug
        ledger.spend("acme", "2026", "night-1", 0.1)


def test_budget_survives_reopening(tmp_path: Path) -> None:
    _ledger(tmp_path).spend("acme", "2026", "r1", 0.7)
    assert _ledger(tmp_path).remaining("acme", "2026") == pytest.approx(0.3)


def test_unconfigured_recipient_and_bad_epsilon_are_configuration_errors(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    with pytest.raises(ConfigurationError, match="other"):
        ledger.spend("other", "2026", "r1", 0.1)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigurationError):
            ledger.spend("acme", "2026", "r1", bad)
    with pytest.raises(ConfigurationError):
        open_budget_ledger(budget_url(None, tmp_path), {"acme": -1.0})


def test_noisy_release_stores_the_first_draw_and_returns_it_byte_for_byte(
    tmp_path: Path,
) -> None:
    ledger = _ledger(tmp_path)
    draws = iter([np.array([3, 0, 17, 2**40], dtype=np.int64), np.array([9, 9, 9, 9])])
    calls: list[int] = []

    def draw() -> np.ndarray:
        calls.append(1)
        return next(draws)

    args = {"release_id": "rel", "recipient": "acme", "window": "2026", "epsilon": 0.4}
    first = noisy_release(ledger, **args, draw=draw)  # type: ignore[arg-type]
    again = noisy_release(_ledger(tmp_path), **args, draw=draw)  # type: ignore[arg-type]
    assert first.tobytes() == again.tobytes() and again.dtype == np.int64
    assert first.tolist() == [3, 0, 17, 2**40]
    assert len(calls) == 1  # no fresh draw on a rerun
    assert ledger.remaining("acme", "2026") == pytest.approx(0.6)  # spent once


def test_a_failed_draw_spends_nothing(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)

    def draw() -> np.ndarray:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        noisy_release(ledger, release_id="x", recipient="acme", window="w", epsilon=0.5, draw=draw)
    assert ledger.remaining("acme", "w") == 1.0


def test_noisy_release_over_budget_does_not_draw(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, budget=0.3)

    def draw() -> np.ndarray:
        raise AssertionError("must not draw")

    with pytest.raises(BudgetExceededError, match=r"0\.3"):
        noisy_release(ledger, release_id="x", recipient="acme", window="w", epsilon=0.5, draw=draw)


def test_release_id_changes_with_the_true_table_and_the_parameters() -> None:
    import pandas as pd

    table = pd.DataFrame({"region": ["east", "TOTAL"], "value": [3, 3]})
    base = {
        "recipient": "acme",
        "spec": "customers_by_region",
        "window": calendar_window(__import__("datetime").date(2026, 11, 24)),
        "table_sha256": frame_sha256(table),
        "epsilon": 0.5,
        "mechanism": "laplace",
    }
    assert base["window"] == "2026"
    assert release_id(**base) == release_id(**base)  # type: ignore[arg-type]
    changed = frame_sha256(table.assign(value=[4, 4]))
    for key, value in [("table_sha256", changed), ("epsilon", 0.25), ("recipient", "b")]:
        assert release_id(**{**base, key: value}) != release_id(**base)  # type: ignore[arg-type]


def test_the_ledger_file_is_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a permissive shell
    try:
        ledger = _ledger(tmp_path)
        noisy_release(
            ledger,
            release_id="r",
            recipient="acme",
            window="2026",
            epsilon=0.1,
            draw=lambda: np.array([1, 2, 3]),
        )
    finally:
        os.umask(old)
    file = tmp_path / "work" / BUDGET_FILE
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert loose_modes(tmp_path / "work") == []


def test_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert budget_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / BUDGET_FILE}"
    assert budget_url("sqlite:///x.db", tmp_path) == "sqlite:///x.db"
    monkeypatch.setenv("ANONRELEASE_DP_BUDGET_URL", "sqlite:///y.db")
    assert budget_url("sqlite:///x.db", tmp_path) == "sqlite:///y.db"


# ----------------------------------------------------------------------------- two processes

_RACER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from pipeline.release.budget_ledger import (
        BudgetExceededError, noisy_release, open_budget_ledger,
    )

    url, go, name, epsilon, count = sys.argv[1:6]
    ledger = open_budget_ledger(url, {"acme": 1.0})
    (Path(go).parent / f"ready-{name}").touch()
    while not Path(go).exists():
        time.sleep(0.005)
    granted, refused = [], []

    def slow_draw():
        time.sleep(0.02)  # widen the window between the budget check and the write
        return np.array([1, 2, 3])

    for i in range(int(count)):
        rid = f"{name}-{i}"
        try:
            noisy_release(
                ledger, release_id=rid, recipient="acme", window="2026",
                epsilon=float(epsilon), draw=slow_draw,
            )
            granted.append(rid)
        except BudgetExceededError as exc:
            refused.append(exc.remaining)
    print(json.dumps({"granted": granted, "refused": refused}))
    """
)


def _race(tmp_path: Path, epsilon: float, count: int) -> list[dict[str, list[object]]]:
    url = budget_url(None, tmp_path / "work")
    open_budget_ledger(url, {"acme": 1.0})  # the file and tables exist before the race
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, url, str(go), name, str(epsilon), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
        )
        for name in ("a", "b")
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{n}").exists() for n in ("a", "b")):  # both imported
        assert time.monotonic() < deadline and all(r.poll() is None for r in racers)
        time.sleep(0.01)
    go.touch()  # both start spending at once
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_two_processes_racing_for_one_budget_spend_exactly_what_it_allows(
    tmp_path: Path,
) -> None:
    """Each asks for 0.6 of a budget of 1.0: one is granted, the other refused."""
    a, b = _race(tmp_path, epsilon=0.6, count=1)
    assert sorted([len(a["granted"]), len(b["granted"])]) == [0, 1]
    (refusal,) = a["refused"] + b["refused"]
    assert refusal == pytest.approx(0.4)
    assert _ledger(tmp_path).remaining("acme", "2026") == pytest.approx(0.4)


def test_two_processes_making_many_small_spends_never_overspend(tmp_path: Path) -> None:
    """Twenty requests of 0.1 (ten from each) for a budget of 1.0: exactly ten land."""
    a, b = _race(tmp_path, epsilon=0.1, count=10)
    granted = a["granted"] + b["granted"]
    assert len(granted) == 10 and len(set(granted)) == 10
    assert len(a["refused"]) + len(b["refused"]) == 10
    ledger = _ledger(tmp_path)
    assert ledger.remaining("acme", "2026") == pytest.approx(0.0, abs=1e-9)
    assert ledger.spent("acme", "2026") == pytest.approx(1.0)
