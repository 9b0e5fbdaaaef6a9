"""The report catalogue: specs fail at load naming file and field; the demo's partner tables
publish at least 80 % of their interior cells; the gate refuses a tampered or under-protected
table; a cell key table keeps the values of cells whose content did not change."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.demo.generator import generate_demo_database
from pipeline.release.datasets import report_names
from pipeline.release.report_gate import ReportCheck, report_problems
from pipeline.run.context import RunContext
from pipeline.run.runner import run_all
from pipeline.run.step_reports import BuildTablesReport, read_decision
from pipeline.settings.release_config import load_config
from pipeline.settings.report_specs import (
    DEFAULT_REPORTS,
    ReportSpecError,
    UnknownReportOptionError,
    load_catalogue,
    load_spec,
    spec_named,
)

SPEC = (DEFAULT_REPORTS / "customers_by_region_age_gender.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "customers_by_region_age_gender") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue()
    assert len(report_names()) >= 5
    assert all(spec.title.ja and spec.title.en for spec in catalogue.values())


def test_an_unknown_dimension_fails_naming_file_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC.replace("attribute: gender", "attribute: shoe_size"))
    with pytest.raises(ReportSpecError) as err:
        load_spec(path)
    assert str(path) in str(err.value)
    assert "dimensions.2.attribute" in str(err.value) and "shoe_size" in str(err.value)


def test_an_unknown_level_and_measure_fail_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ReportSpecError, match=r"dimensions\.0.*level"):
        load_spec(_write(tmp_path, SPEC.replace("level: 2", "level: 7")))
    bad = SPEC.replace("measure: {kind: customers}", "measure: {kind: median}")
    with pytest.raises(ReportSpecError, match=r"measure\.kind"):
        load_spec(_write(tmp_path, bad))


def test_a_dominance_rule_over_more_contributions_than_kept_fails_at_load(
    tmp_path: Path,
) -> None:
    """The builder keeps each cell's two largest contributions: (3, k) is refused when the
    spec loads, naming the field, not when the table is built."""
    text = SPEC.replace(
        "  - {method: suppress, min_contributors: 10}",
        "  - {method: suppress, min_contributors: 10, dominance_n: 3, dominance_k: 80}",
    )
    assert text != SPEC
    with pytest.raises(ReportSpecError, match=r"protection\.1.*dominance_n"):
        load_spec(_write(tmp_path, text))


def test_web_statistics_cannot_leave_the_company(tmp_path: Path) -> None:
    text = (DEFAULT_REPORTS / "web_page_views_daily.yaml").read_text(encoding="utf-8")
    path = _write(
        tmp_path,
        text.replace("recipients: [internal]", "recipients: [internal, advertising_sponsor]"),
        name="web_page_views_daily",
    )
    with pytest.raises(ReportSpecError, match="web access statistics stay internal"):
        load_spec(path)


def test_an_unknown_spec_or_method_lists_what_is_valid() -> None:
    catalogue = load_catalogue()
    with pytest.raises(UnknownReportOptionError, match=r"known: .*customers_by_region"):
        spec_named(catalogue, "nope")
    with pytest.raises(UnknownReportOptionError, match="suppress"):
        catalogue["satisfaction_by_course_age"].method("cellkey")


# --- the demo, end to end --------------------------------------------------------------------


def _environment(monkeypatch: pytest.MonkeyPatch, root: Path, url: str) -> None:
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", url)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(root / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    monkeypatch.setenv("ANONRELEASE_ALLOW_FUTURE_DATE", "1")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo's population: 10,000 customers, seed 42, as `make demo` generates it."""
    path = tmp_path_factory.mktemp("catalogue-source") / "source.sqlite"
    url = f"sqlite:///{path}"
    generate_demo_database(
        url, customers=10_000, seed=42, as_of=date(2026, 11, 24), dirty_rate=0.001
    )
    return url


@pytest.mark.slow
def test_demo_partner_tables_publish_at_least_80_percent(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, tmp_path, demo_db)
    ctx = RunContext(run_date=date(2026, 11, 24), config=load_config())
    run_all(ctx)
    reports = ctx.require_report(BuildTablesReport).reports
    assert set(reports) == set(report_names())
    for name, summary in reports.items():
        assert summary["published_share"] >= 0.8, name
    decision = read_decision(ctx.run_dir / "reports")
    assert decision is not None
    assert set(report_names()) <= set(decision.allowed["partner-cosmetics"])
    folder = tmp_path / "releases" / "partner-cosmetics" / "2026-11-24"
    table = pd.read_csv(folder / "visits_by_course_quarter_area.csv", keep_default_na=False)
    assert list(table.columns) == ["course", "quarter", "store_area", "value", "flag"]
    assert (table["store_area"] == "TOTAL").any()
    assert (folder / "visits_by_course_quarter_area.summary.json").is_file()

    # The gate refuses a table whose file differs from the protected one, or whose
    # suppression pattern leaves a primary cell recomputable from the margins.
    name = "customers_by_region_age_gender"
    check = ReportCheck.from_summary(ctx.run_dir / "anonymized" / f"{name}.parquet", reports[name])
    internal = pd.read_parquet(check.internal)
    released = pd.read_csv(ctx.run_dir / "candidates" / f"{name}.csv")
    assert report_problems(name, released, internal, check) == []
    tampered = released.copy()
    tampered.loc[0, "value"] = tampered.loc[0, "value"] + 1
    assert report_problems(name, tampered, internal, check)

    name = "visits_by_course_quarter_area"
    check = ReportCheck.from_summary(ctx.run_dir / "anonymized" / f"{name}.parquet", reports[name])
    internal = pd.read_parquet(check.internal)
    interior = internal[(internal[["course", "quarter", "store_area"]] != "TOTAL").all(axis=1)]
    weak = internal.copy()
    one = int(interior.index[0])  # withhold a single interior cell, margins published
    weak["flag"] = ""
    weak.loc[one, "flag"] = "suppressed-primary"
    weak.loc[one, "protection"] = 10.0
    weak["published"] = weak["value"].astype("Int64").mask(weak.index == one)
    released = weak[["course", "quarter", "store_area"]].assign(
        value=weak["published"], flag=weak["flag"]
    )
    problems = report_problems(name, released, weak, check)
    assert problems and "audit" in problems[0]


@pytest.mark.slow
def test_two_nights_with_a_deletion_reveal_the_customer_by_no_method(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two nights, one customer deleted between them, each night published.

    cellkey: every cell that does not contain that customer publishes the same value; the cells
    that do change by noise, not by exactly one. suppress: no cell published in both releases
    moved by 1..n-1 contributors (or the table was held). dp: the second, changed table is a
    new release and spends the budget again (the budget is the protection)."""
    from pipeline.steps.analyst_report import analyst_report

    _environment(monkeypatch, tmp_path, demo_db)
    name = "customers_by_region_age_gender"
    first = RunContext(run_date=date(2026, 11, 24), config=load_config())
    run_all(first)
    before = pd.read_parquet(first.run_dir / "anonymized" / f"{name}.parquet")
    dp_first = analyst_report(first, spec_name=name, out_dir=tmp_path / "dp1", method_name="dp")
    engine = sa.create_engine(demo_db)
    with engine.begin() as conn:
        victim = conn.execute(sa.text("SELECT min(customer_id) FROM customers")).scalar_one()
        next_id = conn.execute(sa.text("SELECT max(request_id) FROM customer_requests")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO customer_requests (request_id, customer_id, request_type, "
                "requested_on, field, new_value, status) VALUES "
                "(:rid, :cid, 'deletion', '2026-11-24', NULL, NULL, 'pending')"
            ),
            {"rid": int(next_id or 0) + 1, "cid": int(victim)},
        )
    engine.dispose()
    second = RunContext(run_date=date(2026, 11, 25), config=load_config())
    run_all(second)
    after = pd.read_parquet(second.run_dir / "anonymized" / f"{name}.parquet")
    dims = ["region", "age_group", "gender"]
    merged = before.merge(after, on=dims, suffixes=("_1", "_2"))
    same = merged["value_1"] == merged["value_2"]
    assert (merged.loc[same, "published_1"] == merged.loc[same, "published_2"]).all()
    changed = merged[~same]
    assert 1 <= len(changed) <= 8  # the deleted customer's cell and its margins
    assert (changed["value_1"] - changed["value_2"] == 1).all()
    published_change = (changed["published_1"] - changed["published_2"]).to_numpy()
    assert not np.all(published_change == 1), "every changed cell moved by exactly one"

    # suppress: compare what partner-cosmetics received on both nights, cell by cell.
    table = "visits_by_course_quarter_area"
    decision = read_decision(second.run_dir / "reports")
    assert decision is not None
    held = table in decision.held.get("partner-cosmetics", {})
    received = table in decision.allowed.get("partner-cosmetics", [])
    assert held or received
    if received:
        keys = ["course", "quarter", "store_area"]
        old = pd.read_parquet(first.run_dir / "anonymized" / f"{table}.parquet")
        new = pd.read_parquet(second.run_dir / "anonymized" / f"{table}.parquet")
        both = old.merge(new, on=keys, suffixes=("_1", "_2"))
        shown = ~both["suppressed_1"] & ~both["suppressed_2"]
        delta = (both["contributors_1"] - both["contributors_2"]).abs()[shown]
        assert not ((delta > 0) & (delta < 10)).any()

    # dp: a changed table is a new release and spends again; the same one would not.
    dp_second = analyst_report(second, spec_name=name, out_dir=tmp_path / "dp2", method_name="dp")
    assert dp_first.summary["budget_remaining"] == 2.0
    assert dp_second.summary["budget_remaining"] == 1.0
