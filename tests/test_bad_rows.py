"""Every value that could stop a later step is quarantined by validate_raw, with the field and
the rule named (issue 9, findings 3 and 10): a NULL course, an amount of 10^12 yen, a visit
to a store that does not exist. Bounds are the release config's, validated at load."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from expectations.validation import load_suite
from pipeline.demo.generator import generate_demo_database
from pipeline.run.context import RunContext
from pipeline.run.runner import run_all
from pipeline.run.step_reports import PublishReport, ValidateRawReport
from pipeline.settings.release_config import ConfigError, Plausibility, load_config
from pipeline.sources.schema import COURSE_CATEGORIES, SUITE_VOCABULARIES

RUN_DATE = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[1]


def _source(tmp_path: Path, *statements: str) -> str:
    path = tmp_path / "source.sqlite"
    generate_demo_database(
        f"sqlite:///{path}", customers=300, seed=11, as_of=RUN_DATE, dirty_rate=0
    )
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def _usage_row(n: int) -> str:
    return f"(SELECT usage_id FROM service_usage ORDER BY usage_id LIMIT 1 OFFSET {n})"


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", url)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)


def test_values_that_would_stop_a_later_step_are_quarantined_and_the_night_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _source(
        tmp_path,
        f"UPDATE service_usage SET course_category = NULL WHERE usage_id = {_usage_row(0)}",
        f"UPDATE service_usage SET amount_yen = 1000000000000 WHERE usage_id = {_usage_row(1)}",
        f"UPDATE service_usage SET store_id = 999 WHERE usage_id = {_usage_row(2)}",
        f"UPDATE service_usage SET store_id = NULL WHERE usage_id = {_usage_row(3)}",
        # a customer who never came: main course "none", which the release order must know
        "DELETE FROM service_usage WHERE customer_id = 3",
    )
    _environment(monkeypatch, tmp_path, url)
    config = load_config()
    # A small population cannot keep region at k = 10: the profile without the region bound.
    config = config.model_copy(
        update={"profile": config.profile.model_copy(update={"max_levels": None})}
    )
    ctx = RunContext(run_date=RUN_DATE, config=config)
    run_all(ctx)  # before: ValuesOutsideDomainError at build_tables
    usage = pd.read_parquet(ctx.run_dir / "quarantine" / "service_usage.parquet")
    reasons = " | ".join(usage["_reason"])
    assert "course_category: missing (expect_column_values_to_not_be_null)" in reasons
    assert "amount_yen: not an integer amount within the plausibility bounds" in reasons
    assert "store_id: unknown store (reference:store_ids)" in reasons
    assert "store_id: missing (expect_column_values_to_not_be_null)" in reasons
    assert "1000000000000" not in reasons
    raw = ctx.require_report(ValidateRawReport).tables
    for table, c in raw.items():
        assert c.rows_in == c.clean + c.quarantined + c.out_of_scope, table
    customers = pd.read_parquet(ctx.run_dir / "deidentified" / "customers.parquet")
    assert "none" in set(customers["main_course"])
    assert ctx.require_report(PublishReport).published


def test_plausibility_bounds_come_from_the_release_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _source(
        tmp_path, f"UPDATE service_usage SET amount_yen = 2500 WHERE usage_id = {_usage_row(0)}"
    )
    config = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    config["plausibility"] = {"amount_yen": {"min": 5000, "max": 20000}}
    config["quarantine_threshold"] = 1.0
    path = tmp_path / "release.yaml"
    path.write_text(yaml.safe_dump(config))
    _environment(monkeypatch, tmp_path, url)
    ctx = RunContext(run_date=RUN_DATE, config=load_config(path))
    from pipeline.run.runner import run_step

    run_step(ctx, "extract")
    run_step(ctx, "validate_raw")
    raw = pd.read_parquet(ctx.run_dir / "raw" / "service_usage.parquet")
    amounts = pd.to_numeric(raw["amount_yen"])
    usage = pd.read_parquet(ctx.run_dir / "quarantine" / "service_usage.parquet")
    assert len(usage) == int(((amounts < 5000) | (amounts > 20000)).sum()) > 0
    assert "2500" in raw["amount_yen"].tolist()
    pinned = json.loads((ctx.run_dir / "config.json").read_text())
    assert pinned["plausibility"]["amount_yen"] == {"min": 5000, "max": 20000}
    assert pinned["plausibility"]["satisfaction"] == {"min": 1, "max": 5}


@pytest.mark.parametrize(
    ("plausibility", "field"),
    [
        ({"amount_yen": {"min": 10, "max": 5}}, "plausibility.amount_yen"),
        ({"amount_yen": {"min": -1, "max": 5}}, "plausibility"),
        ({"satisfaction": {"min": 1}}, "plausibility.satisfaction.max"),
        ({"scores": {"min": 1, "max": 5}}, "plausibility.scores"),
    ],
)
def test_wrong_bounds_fail_at_load_with_the_field_named(
    tmp_path: Path, plausibility: dict, field: str
) -> None:
    config = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    config["plausibility"] = plausibility
    path = tmp_path / "release.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=rf"release\.yaml: {field}"):
        load_config(path)


def test_the_suites_defaults_and_domains_are_the_pipelines() -> None:
    """Suite defaults (for `anonrelease validate`) equal the config's; the course set is the
    tables' course domain, so a course that passes validation can never be outside it."""
    defaults = Plausibility().suite_parameters()
    vocabularies = {"run_date": RUN_DATE, **SUITE_VOCABULARIES}
    usage = load_suite("raw_usage", parameters=vocabularies)
    (amounts,) = [
        e
        for e in usage.expectations
        if e["kwargs"].get("column") == "amount_yen" and "max_value" in e["kwargs"]
    ]
    assert (amounts["kwargs"]["min_value"], amounts["kwargs"]["max_value"]) == (
        defaults["amount_yen_min"],
        defaults["amount_yen_max"],
    )
    (courses,) = [e for e in usage.expectations if e["type"] == "expect_column_values_to_be_in_set"]
    assert sorted(courses["kwargs"]["value_set"]) == sorted(COURSE_CATEGORIES)
    scores = [
        e
        for e in load_suite("raw_questionnaires", parameters=vocabularies).expectations
        if str(e["kwargs"].get("column")).startswith("satisfaction_")
    ]
    assert len(scores) == 4
    assert {(e["kwargs"]["min_value"], e["kwargs"]["max_value"]) for e in scores} == {
        (defaults["satisfaction_min"], defaults["satisfaction_max"])
    }


@pytest.mark.parametrize("customer_id", ["1.5", "1e300", None, "MARKER"])
def test_a_quarantined_request_without_an_integer_customer_id_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, customer_id: str | None
) -> None:
    """'1.5' used to exclude customer 1 in place of the unknown one who asked."""
    from pipeline.steps.validate_raw import UnreadableRequestError, quarantined_customer_ids

    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path))
    ctx = RunContext(run_date=RUN_DATE, config=load_config())
    rejected = pd.DataFrame({"customer_id": ["7", customer_id]}, dtype="str")
    rejected.to_parquet(ctx.zone("quarantine") / "consents.parquet")
    with pytest.raises(UnreadableRequestError, match=r"consents: 1 quarantined row\(s\)"):
        quarantined_customer_ids(ctx, "consents")
