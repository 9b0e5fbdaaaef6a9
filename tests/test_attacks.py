"""Attacks on what a recipient actually holds: every file it received, in order, night after
night, plus the population's basic facts (exact age, gender, postal prefix of every customer).

Each test runs the real pipeline (``run_all``) on a small generated database and plays the
attacker against the published folders. Each attack also runs against a control built the way
the code worked before (rows in the order of the hidden values, a nightly microdata series, ages
at the run date) to show that the attack has the power to find the leak it looks for.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from published_notices import publish_notices

from pipeline.demo.generator import generate_demo_database
from pipeline.release.datasets import MICRODATA, report_names
from pipeline.run.context import RunContext
from pipeline.run.runner import run_all
from pipeline.run.step_reports import AnonymizeReport, BuildTablesReport, read_decision
from pipeline.settings.release_config import load_config
from pipeline.sources.hierarchies import shipped_hierarchies

RECIPIENT = "partner-cosmetics"  # receives the microdata (monthly) and the tables (nightly)
# A suppressed table of the report catalogue: the one the differencing gate guards (a cell key
# table's noise protects its differences; see pipeline.steps.validate_release).
TABLE = "visits_by_course_quarter_area"
QI = ("age", "gender", "postal_code")

pytestmark = pytest.mark.slow


def _environment(monkeypatch: pytest.MonkeyPatch, root: Path, url: str) -> None:
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", url)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(root / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    monkeypatch.setenv("ANONRELEASE_ALLOW_FUTURE_DATE", "1")  # the nights after 2026-12-01


def _run(day: date) -> RunContext:
    ctx = RunContext(run_date=day, config=load_config())
    publish_notices(ctx.config.workdir)
    run_all(ctx)
    return ctx


def _received(root: Path, dataset: str) -> list[tuple[str, pd.DataFrame]]:
    """Every file of ``dataset`` the recipient received, oldest first."""
    folders = sorted((root / "releases" / RECIPIENT).glob("*"))
    return [
        (f.name, pd.read_csv(f / f"{dataset}.csv", dtype="str", keep_default_na=False))
        for f in folders
        if (f / f"{dataset}.csv").exists()
    ]


@pytest.fixture(scope="module")
def population_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Customers who all registered, and visited, before October: nothing new arrives later."""
    path = tmp_path_factory.mktemp("attack-source") / "source.sqlite"
    url = f"sqlite:///{path}"
    generate_demo_database(url, customers=2500, seed=11, as_of=date(2026, 9, 30), dirty_rate=0)
    return url


@pytest.fixture
def first_night(
    population_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, RunContext]]:
    _environment(monkeypatch, tmp_path, population_db)
    yield tmp_path, _run(date(2026, 11, 24))


# --- row order ------------------------------------------------------------------------------


def _position_attack(released: pd.DataFrame, population: pd.DataFrame) -> float:
    """Share of rows whose hidden exact postal prefix the attacker reads from its position.

    Within each released class, the attacker lines the class's members up by their exact
    (age, gender, postal prefix) and predicts the i-th row to be the i-th member. The
    truth is the internal pseudonym behind each row (the pipeline's own record).
    """
    hits = 0
    for _, rows in released.groupby(list(QI), sort=False):
        members = population[population["pseudonym"].isin(rows["pseudonym"])]
        guessed = members.sort_values(list(QI), kind="stable")["postal_code"].to_numpy()
        truth = population.set_index("pseudonym").loc[rows["pseudonym"], "postal_code"]
        hits += int((truth.to_numpy() == guessed).sum())
    return hits / len(released)


def _best_guess_without_position(released: pd.DataFrame, population: pd.DataFrame) -> float:
    """The best any order-blind attacker does: each class's most common hidden prefix."""
    truth = population.set_index("pseudonym")["postal_code"]
    hits = 0
    for _, rows in released.groupby(list(QI), sort=False):
        hits += Counter(truth.loc[rows["pseudonym"]]).most_common(1)[0][1]
    return hits / len(released)


def test_row_order_attack_does_no_better_than_chance(first_night) -> None:
    root, ctx = first_night
    internal = pd.read_parquet(ctx.run_dir / "anonymized" / f"{MICRODATA}_monthly.parquet")
    population = pd.read_parquet(ctx.run_dir / "deidentified" / "customers_monthly.parquet")
    population = population.astype({c: "str" for c in QI})
    published = _received(root, MICRODATA)[-1][1]
    # The internal record is the published file, row for row, plus the pseudonym.
    assert published.equals(internal.drop(columns="pseudonym").astype("str"))
    generalized = [c for c, lvl in _levels(ctx).items() if lvl > 0]
    assert "postal_code" in generalized or "age" in generalized
    attack = _position_attack(internal, population)
    baseline = _best_guess_without_position(internal, population)
    assert attack <= baseline + 0.02, (attack, baseline)

    # Control: the same rows in the order of the hidden values, as the code wrote them before.
    order = population.set_index("pseudonym").loc[internal["pseudonym"], list(QI)]
    leaky = internal.iloc[
        order.reset_index(drop=True).sort_values(list(QI), kind="stable").index
    ].reset_index(drop=True)
    assert _position_attack(leaky, population) > 0.95 > baseline + 0.1


def _levels(ctx: RunContext) -> dict[str, int]:
    report = ctx.read_report(AnonymizeReport)
    assert report is not None
    return dict(report.released()["monthly"].transformation)


# --- linkage --------------------------------------------------------------------------------


def test_linkage_prosecutor_success_is_at_most_one_in_k(first_night) -> None:
    """Every target the attacker finds in the release matches at least k identical rows, and
    the row-order channel narrows none of them (see the row-order attack)."""
    root, ctx = first_night
    population = pd.read_parquet(ctx.run_dir / "deidentified" / "customers_monthly.parquet")
    levels = _levels(ctx)
    trees = shipped_hierarchies(QI)
    labels = pd.DataFrame(
        {c: trees[c].generalize(population[c].astype("str"), level=levels[c]) for c in QI}
    )
    published = _received(root, MICRODATA)[-1][1]
    class_sizes = published.groupby(list(QI)).size()
    matches = labels.merge(class_sizes.rename("rows").reset_index(), on=list(QI), how="inner")[
        "rows"
    ]
    k = ctx.config.profile.k
    assert len(matches) > 0
    assert (1 / matches).max() <= 1 / k


# --- one customer between two releases ------------------------------------------------------


def _delete(url: str, customer_id: int, on: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        next_id = conn.execute(sa.text("SELECT MAX(request_id) + 1 FROM customer_requests"))
        conn.execute(
            sa.text(
                "INSERT INTO customer_requests (request_id, customer_id, request_type, "
                "requested_on, field, new_value, status) VALUES (:r, :c, 'deletion', :d, "
                "NULL, NULL, 'open')"
            ),
            {"r": next_id.scalar_one(), "c": customer_id, "d": on},
        )
    engine.dispose()


def _microdata_singles_out(old: pd.DataFrame, new: pd.DataFrame, k: int) -> int:
    """Classes whose rows (as the recipient sees them) changed by 1..k-1 between two files."""
    key = list(old.columns)
    before = old.value_counts(key).rename("old")
    after = new.value_counts(key).rename("new")
    rows = pd.concat([before, after], axis=1).fillna(0)
    rows["changed"] = (rows["new"] - rows["old"]).abs()
    per_class = rows.groupby(level=list(QI))["changed"].sum()
    return int(((per_class > 0) & (per_class < k)).sum())


def _table_singles_out(old: pd.DataFrame, new: pd.DataFrame, threshold: int) -> int:
    """Cells published in both files whose visits differ by 1..threshold-1 (fewer visits
    than the table's minimum of customers: a handful of customers, maybe one)."""
    dims = [c for c in old.columns if c not in ("value", "flag")]
    merged = old.merge(new, on=dims, suffixes=("_old", "_new"))
    both = (merged["value_old"] != "") & (merged["value_new"] != "")
    delta = (
        merged.loc[both, "value_new"].astype(float) - merged.loc[both, "value_old"].astype(float)
    ).abs()
    return int(((delta > 0) & (delta < threshold)).sum())


def test_a_deletion_between_releases_singles_out_no_one(first_night, population_db) -> None:
    root, ctx = first_night
    engine = sa.create_engine(population_db)
    with engine.connect() as conn:  # a customer behind the visits of the table's window
        victim = conn.execute(
            sa.text("SELECT MIN(customer_id) FROM service_usage WHERE visit_date >= '2025-10-01'")
        ).scalar_one()
    engine.dispose()
    _delete(population_db, victim, "2026-11-24")
    # The next nights: the table's next release (nightly), then the next monthly period.
    for day in (date(2026, 11, 25), date(2026, 12, 2)):
        _run(day)
    k = ctx.config.profile.k
    micro = _received(root, MICRODATA)
    tables = _received(root, TABLE)
    assert next(name for name, _ in micro) == "2026-11-24"
    assert next(name for name, _ in tables) == "2026-11-24"
    for (_, old), (_, new) in itertools.pairwise(micro):
        assert _microdata_singles_out(old, new, k) == 0
    built = ctx.read_report(BuildTablesReport)
    assert built is not None and built.reports[TABLE]["method"] == "suppress"
    threshold = int(built.reports[TABLE]["min_contributors"])
    for (_, old), (_, new) in itertools.pairwise(tables):
        assert _table_singles_out(old, new, threshold) == 0
    # The night after the deletion, the table moved in exactly that customer's cells: held
    # (audited, in the decision record), not published.
    after = RunContext(run_date=date(2026, 11, 25), config=load_config())
    decision = read_decision(after.run_dir / "reports")
    assert decision is not None
    assert "contributors changed by fewer than" in decision.held[RECIPIENT][TABLE]
    assert "2026-11-25" not in [name for name, _ in tables]
    # Control: the file the gate held would have shown the recipient that customer's visits.
    held = [
        pd.read_csv(c.run_dir / "candidates" / f"{TABLE}.csv", dtype="str", keep_default_na=False)
        for c in (ctx, after)
    ]
    assert _table_singles_out(*held, threshold) > 0


def test_the_control_shows_a_nightly_series_would_single_out_the_deleted_customer() -> None:
    """Before: nightly microdata, one deletion -> exactly one row fewer in its class."""
    old = pd.DataFrame(
        {
            "age": ["34"] * 12,
            "gender": ["*"] * 12,
            "postal_code": ["*"] * 12,
            "main_course": ["nail"] * 6 + ["body"] * 6,
        }
    )
    new = old.iloc[1:]
    assert _microdata_singles_out(old, new, k=10) == 1


# --- birthdays ------------------------------------------------------------------------------


def test_no_class_membership_changes_within_a_period(population_db, tmp_path, monkeypatch):
    """An unchanged database, two nights of one monthly period: the same series file and the
    same tables (ages as of 1 January), although customers had birthdays in between."""
    _environment(monkeypatch, tmp_path, population_db)
    first = _run(date(2026, 11, 3))
    second = _run(date(2026, 11, 28))
    tables = report_names()
    assert "customers_by_region_age_gender" in tables and "satisfaction_by_course_age" in tables
    for name in (f"{MICRODATA}@monthly", *tables):
        a = (first.run_dir / "candidates" / f"{name}.csv").read_bytes()
        b = (second.run_dir / "candidates" / f"{name}.csv").read_bytes()
        assert a == b, name
    # Control: ages at each run date do move people between classes within the month.
    ages = pd.read_parquet(first.run_dir / "clean" / "customers_current.parquet")["birth_date"]
    births = pd.to_datetime(ages)
    moved = ((births.dt.month == 11) & (births.dt.day > 3) & (births.dt.day <= 28)).sum()
    assert moved > 0
