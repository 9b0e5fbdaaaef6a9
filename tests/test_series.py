"""Release series: periods, the differencing rules, and the frozen generalization."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.release.series import (
    FrozenSeries,
    Received,
    freeze_series,
    frozen_series,
    last_received,
    record_received,
    reset_series,
)
from transforms.differencing import microdata_difference, table_difference
from transforms.periods import CADENCES, first_release_date, next_cutoff, period_cutoff

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@given(day=days, cadence=st.sampled_from(CADENCES))
def test_a_period_is_complete_before_it_is_released(day: date, cadence) -> None:
    cutoff = period_cutoff(day, cadence)
    assert cutoff <= day
    assert period_cutoff(first_release_date(cutoff, cadence), cadence) == cutoff
    following = next_cutoff(cutoff, cadence)
    assert following > cutoff
    assert period_cutoff(first_release_date(following, cadence), cadence) == following
    # Every night until the next period is complete releases the same cut-off.
    night = first_release_date(cutoff, cadence)
    while night < first_release_date(following, cadence):
        assert period_cutoff(night, cadence) == cutoff
        night += timedelta(days=1)


def test_cutoffs_of_the_demo_night() -> None:
    night = date(2026, 11, 24)
    assert period_cutoff(night, "nightly") == night
    assert period_cutoff(night, "weekly") == date(2026, 11, 22)
    assert period_cutoff(night, "monthly") == date(2026, 10, 31)
    assert next_cutoff(date(2027, 1, 31), "monthly") == date(2027, 2, 28)


def _class(n: int, *, start: int = 0, course: str = "nail") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudonym": [f"p{i}" for i in range(start, start + n)],
            "age": "30-34",
            "region": "関東",
            "main_course": course,
        }
    )


@given(size=st.integers(12, 40), removed=st.integers(0, 12), k=st.integers(2, 10))
def test_a_class_may_change_by_none_or_at_least_k_records(size, removed, k) -> None:
    old = pd.concat([_class(size), _class(15, start=100, course="body").assign(age="35-39")])
    new = old.iloc[removed:]
    diff = microdata_difference(
        old, new, qi=("age", "region"), sensitive="main_course", unit="pseudonym", k=k
    )
    assert diff.safe == (removed == 0 or removed >= k)
    assert diff.records_changed == removed


def test_a_changed_course_is_a_change_even_when_the_class_keeps_its_members() -> None:
    old = _class(20)
    new = old.copy()
    new.loc[0, "main_course"] = "body"
    diff = microdata_difference(
        old, new, qi=("age", "region"), sensitive="main_course", unit="pseudonym", k=10
    )
    assert not diff.safe and diff.records_changed == 1


def _table(counts: list[int], threshold: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cell": [f"c{i}" for i in range(len(counts))],
            "customers": counts,
            "suppressed": [c < threshold for c in counts],
        }
    )


@pytest.mark.parametrize(
    ("before", "after", "safe"),
    [
        (25, 25, True),  # unchanged
        (25, 24, False),  # published in both, moved by one: the change is a person
        (25, 45, True),  # moved by at least the threshold
        (3, 5, True),  # suppressed in both
        (19, 20, False),  # appears: the old hidden value is recovered
        (20, 19, False),  # disappears after moving by one
        (0, 25, True),
    ],
)
def test_table_cells_under_the_differencing_rule(before: int, after: int, safe: bool) -> None:
    diff = table_difference(
        _table([before, 50], 20),
        _table([after, 50], 20),
        dimensions=("cell",),
        count="customers",
        suppressed="suppressed",
        threshold=20,
    )
    assert diff.safe is safe


def test_received_history_returns_the_latest_earlier_run(tmp_path) -> None:
    for run in ("2026-10-01", "2026-11-01", "2026-11-24"):
        record_received(
            tmp_path,
            Received(
                recipient="r",
                dataset="d",
                cadence="monthly",
                run_id=run,
                cutoff=date.fromisoformat(run) - timedelta(days=1),
                sha256="0" * 64,
            ),
            pd.DataFrame({"x": [run]}),
        )
    found = last_received(tmp_path, "r", "d", before_run="2026-11-24")
    assert found is not None and found[0].run_id == "2026-11-01"
    assert found[1]["x"].tolist() == ["2026-11-01"]
    assert last_received(tmp_path, "r", "d", before_run="2026-10-01") is None


def test_a_series_keeps_its_first_transformation_until_reset(tmp_path) -> None:
    first = FrozenSeries(
        dataset="d",
        cadence="monthly",
        transformation={"age": 1},
        first_run="2026-11-24",
        first_cutoff=date(2026, 10, 31),
    )
    freeze_series(tmp_path, first)
    later = first.model_copy(update={"transformation": {"age": 2}, "first_run": "2026-12-01"})
    freeze_series(tmp_path, later)
    assert frozen_series(tmp_path, "d", "monthly") == first
    rerun = first.model_copy(update={"transformation": {"age": 3}})
    freeze_series(tmp_path, rerun)  # a rerun of the first run may choose again
    assert frozen_series(tmp_path, "d", "monthly") == rerun
    assert reset_series(tmp_path, "d", "monthly")
    assert frozen_series(tmp_path, "d", "monthly") is None


def test_a_frozen_node_outside_the_profiles_level_bounds_holds_the_series(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """Bounds changed after a series started: the frozen node is neither released nor
    silently replaced; the series is held (audited) naming the column, until a reset."""
    from types import SimpleNamespace

    import pipeline.steps.anonymize as step
    from pipeline.run.step_reports import DeidentifyReport, HeldSeries, SeriesProfile
    from pipeline.settings.release_config import PrivacyProfile

    profile = PrivacyProfile(
        quasi_identifiers=("age", "gender", "postal_code"),
        k=2,
        suppression_limit=0.1,
        min_cell_count=2,
        max_levels={"postal_code": 2},
    )
    customers = pd.DataFrame(
        {
            "pseudonym": [f"p{i}" for i in range(40)],
            "gender": ["F", "M"] * 20,
            "age": [str(30 + i % 4) for i in range(40)],
            "postal_code": ["001", "002"] * 20,
        }
    )
    frozen = FrozenSeries(
        dataset="customers_microdata",
        cadence="monthly",
        transformation={"age": 0, "gender": 0, "postal_code": 3},
        first_run="2026-11-24",
        first_cutoff=date(2026, 10, 31),
    )
    written: list[str] = []
    events: list[dict] = []
    monkeypatch.setattr(step, "read", lambda ctx, zone, name: customers)
    monkeypatch.setattr(step, "frozen_series", lambda workdir, dataset, cadence: frozen)
    monkeypatch.setattr(step, "write", lambda ctx, zone, name, df: written.append(name))
    monkeypatch.setattr(step, "finish", lambda ctx, report: report)
    monkeypatch.setattr(step.audit, "record", lambda workdir, **event: events.append(event))
    deidentified = DeidentifyReport(
        rows={"customers": len(customers)},
        quarantined_outside_hierarchies={},
        web_page_views=0,
        age_reference="2026-01-01",
        series={
            "monthly": SeriesProfile(
                cutoff="2026-11-30",
                reference_date="2026-11-30",
                customers=len(customers),
                outside_hierarchies=0,
            )
        },
    )
    ctx = SimpleNamespace(
        config=SimpleNamespace(profile=profile, workdir=tmp_path),
        run_id="2026-12-01",
        read_report=lambda model: deidentified if model is DeidentifyReport else None,
    )
    report = step.anonymize(ctx)  # type: ignore[arg-type]
    entry = report.series["monthly"]
    assert isinstance(entry, HeldSeries)
    held = entry.held
    assert "outside the profile's level bounds" in held and "postal_code" in held
    assert written == [] and [e["event"] for e in events] == ["series.held"]
