"""Step reports are typed: each round-trips through its file, and a file that does not match
its model fails to read with the file and the field named, never a value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.release.decision_record import DECISION_FILE, CheckRecord, DecisionRecord
from pipeline.run.step_reports import (
    REPORTS,
    AnonymizeReport,
    ApplyCustomerRequestsReport,
    BuildTablesReport,
    DeidentifyReport,
    ExtractReport,
    HeldSeries,
    MissingReport,
    PublishedFolder,
    PublishReport,
    ReleasedSeries,
    ReportInvalid,
    ReportUnreadable,
    SeriesProfile,
    StepReport,
    TableCounts,
    TombstoneCounts,
    ValidateRawReport,
    ValidateReleaseReport,
    read_decision,
    read_report,
    report_path,
    require_report,
    write_report,
)
from pipeline.steps import STEPS

SECRET = "SECRET-VALUE-42"

RELEASED = ReleasedSeries(
    cutoff="2026-10-31",
    reference_date="2026-10-31",
    records=120,
    frozen=False,
    search_seconds=0.25,
    nodes_checked=17,
    transformation={"age": 2, "gender": 0, "postal_code": 1},
    suppressed=3,
    classes=11,
    min_class_size=5,
    loss=None,
    metric="loss",
)
HELD = HeldSeries(
    cutoff="2026-11-30",
    reference_date="2026-11-30",
    records=90,
    frozen=True,
    search_seconds=0.5,
    nodes_checked=4,
    held="the series' frozen transformation no longer satisfies the privacy profile",
)

SAMPLES: dict[str, StepReport] = {
    "extract": ExtractReport(rows_read={"customers": 3, "stores": 2}, withdrawn=["a/b"]),
    "validate_raw": ValidateRawReport(
        tables={"customers": TableCounts(rows_in=5, clean=3, quarantined=1, out_of_scope=1)}
    ),
    "apply_customer_requests": ApplyCustomerRequestsReport(
        customers_excluded={"deletion_request": 2, "opt_out": 1},
        rows_excluded={"customers": 3, "service_usage": 7},
        tombstoned={"customers": 1, "service_usage": 2},
        tombstones=TombstoneCounts(recorded=2, total=5),
        corrections_applied=4,
        corrections_rejected=1,
        corrections_superseded=0,
        corrections_of_excluded_customers=1,
    ),
    "deidentify": DeidentifyReport(
        rows={"customers": 10, "usage": 20, "questionnaires": 5},
        quarantined_outside_hierarchies={"customers": 1, "usage": 2, "questionnaires": 0},
        web_page_views=123,
        age_reference="2026-01-01",
        series={
            "monthly": SeriesProfile(
                cutoff="2026-10-31",
                reference_date="2026-10-31",
                customers=9,
                outside_hierarchies=1,
            )
        },
    ),
    "anonymize": AnonymizeReport(series={"monthly": RELEASED, "weekly": HELD}),
    "build_tables": BuildTablesReport(
        datasets={"usage_by_region": 40, "customers_microdata@monthly": 117},
    ),
    "validate_release": ValidateReleaseReport(
        allowed={"partner": ["usage_by_region"]},
        blocked={"strict": ["k too small"]},
        profile_failures=[],
        docs_index=None,
        checks=[
            CheckRecord(dataset="usage_by_region", requirement="k", passed=True, rows=4, failures=0)
        ],
        sha256={"usage_by_region": "ab" * 32},
        parameters={"usage_by_region": {"min_cell_count": 10}},
        held={},
        not_due={"partner": {"customers_microdata@monthly": "already received"}},
    ),
    "publish": PublishReport(
        published={"partner": PublishedFolder(folder="/r/partner/2026-11-24", files=["a.csv"])},
        blocked={},
        held={},
        not_due={},
        withdrawn=[],
    ),
}


def test_every_step_has_one_registered_report_model() -> None:
    assert list(REPORTS) == list(STEPS)
    assert all(REPORTS[s].step == s for s in STEPS)
    assert sorted(SAMPLES) == sorted(STEPS)
    assert all(type(SAMPLES[s]) is REPORTS[s] for s in STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_every_report_round_trips_through_its_file(step: str, tmp_path: Path) -> None:
    report = SAMPLES[step]
    path = write_report(tmp_path, report)
    assert path == report_path(tmp_path, step) == tmp_path / f"{step}.json"
    back = read_report(tmp_path, REPORTS[step])
    assert back == report and type(back) is type(report)
    assert write_report(tmp_path, back).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("step", STEPS)
def test_the_file_is_the_json_the_dict_reports_wrote(step: str, tmp_path: Path) -> None:
    """Same names, sorted keys, two-space indent, non-ASCII as is: downstream sees no change."""
    report = SAMPLES[step]
    data = report.model_dump(mode="json", by_alias=True)
    expected = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert write_report(tmp_path, report).read_text() == expected


def test_field_names_on_disk_are_the_old_keys(tmp_path: Path) -> None:
    write_report(tmp_path, SAMPLES["validate_raw"])
    on_disk = json.loads((tmp_path / "validate_raw.json").read_text())
    assert on_disk == {
        "tables": {"customers": {"in": 5, "clean": 3, "quarantined": 1, "out_of_scope": 1}}
    }
    write_report(tmp_path, SAMPLES["anonymize"])
    series = json.loads((tmp_path / "anonymize.json").read_text())["series"]
    assert "held" not in series["monthly"] and series["monthly"]["loss"] is None
    assert "transformation" not in series["weekly"] and "held" in series["weekly"]


def test_publish_names_failed_destinations_only_when_one_failed(tmp_path: Path) -> None:
    ok = SAMPLES["publish"]
    assert "failed" not in json.loads(write_report(tmp_path, ok).read_text())
    failed = ok.model_copy(update={"failed": {"partner": "destination not writable (OSError)"}})
    on_disk = json.loads(write_report(tmp_path, failed).read_text())
    assert on_disk["failed"] == {"partner": "destination not writable (OSError)"}
    assert read_report(tmp_path, PublishReport) == failed


def test_a_held_and_a_released_series_read_back_as_their_own_kind(tmp_path: Path) -> None:
    write_report(tmp_path, SAMPLES["anonymize"])
    back = require_report(tmp_path, AnonymizeReport)
    assert isinstance(back.series["monthly"], ReleasedSeries)
    assert isinstance(back.series["weekly"], HeldSeries)
    assert list(back.released()) == ["monthly"]


def test_the_gate_decision_file_is_unchanged_by_the_report_model(tmp_path: Path) -> None:
    report = SAMPLES["validate_release"]
    assert isinstance(report, ValidateReleaseReport)
    plain = DecisionRecord.model_validate(report.model_dump())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert report.write(tmp_path / "a").read_bytes() == plain.write(tmp_path / "b").read_bytes()
    assert read_decision(tmp_path / "a") == plain
    assert DecisionRecord.read(tmp_path / "a") == plain
    assert read_decision(tmp_path / "missing") is None


def _edited(tmp_path: Path, step: str, edit: object) -> Path:
    path = write_report(tmp_path, SAMPLES[step])
    data = json.loads(path.read_text())
    assert callable(edit)
    edit(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("step", "edit", "where", "kind"),
    [
        ("build_tables", lambda d: d.update(renamed=SECRET), "renamed", "extra_forbidden"),
        (
            "build_tables",
            lambda d: d.pop("datasets"),
            "datasets",
            "missing",
        ),
        (
            "validate_raw",
            lambda d: d["tables"]["customers"].update(rows=SECRET),
            "tables.customers.rows",
            "extra_forbidden",
        ),
        (
            "validate_raw",
            lambda d: d["tables"]["customers"].pop("in"),
            "tables.customers.in",
            "missing",
        ),
        (
            "extract",
            lambda d: d["rows_read"].update(customers=SECRET),
            "rows_read.customers",
            "int",
        ),
        (
            "deidentify",
            lambda d: d["series"].update(yearly=d["series"]["monthly"]),
            "series.yearly",
            "literal",
        ),
        (
            "publish",
            lambda d: d["published"]["partner"].pop("folder"),
            "published.partner.folder",
            "missing",
        ),
    ],
)
def test_a_report_that_does_not_match_its_model_fails_naming_file_and_field(
    tmp_path: Path, step: str, edit: object, where: str, kind: str
) -> None:
    path = _edited(tmp_path, step, edit)
    with pytest.raises(ReportUnreadable) as caught:
        read_report(tmp_path, REPORTS[step])
    message = str(caught.value)
    assert message.startswith(f"{path}: not a valid {step} report: ")
    assert where in message and kind in message
    assert SECRET not in message and caught.value.path == path
    assert caught.value.__cause__ is None  # pydantic's own message would quote the input


def test_a_build_tables_report_of_the_retired_count_table_still_reads(tmp_path: Path) -> None:
    """Nights before the 4-D count table was retired recorded its minimum and suppressed
    cells: they read (without them), and a report written now never has them."""
    _edited(
        tmp_path,
        "build_tables",
        lambda d: d.update(table_min_cell_count=20, table_cells_suppressed=3355),
    )
    report = read_report(tmp_path, BuildTablesReport)
    assert report == SAMPLES["build_tables"]
    assert "table_min_cell_count" not in write_report(tmp_path, report).read_text()


def test_an_unknown_field_in_a_series_entry_fails_the_read(tmp_path: Path) -> None:
    """A held entry with a release field is neither kind: it does not read as either."""
    _edited(tmp_path, "anonymize", lambda d: d["series"]["weekly"].update(suppressed=SECRET))
    with pytest.raises(ReportUnreadable, match=r"series\.weekly") as caught:
        read_report(tmp_path, AnonymizeReport)
    assert SECRET not in str(caught.value)


def test_a_file_that_is_not_json_fails_without_quoting_it(tmp_path: Path) -> None:
    path = report_path(tmp_path, "extract")
    path.write_text(f'{{"rows_read": {SECRET}')
    with pytest.raises(ReportUnreadable, match="json_invalid") as caught:
        read_report(tmp_path, ExtractReport)
    assert str(path) in str(caught.value) and SECRET not in str(caught.value)


def test_the_gate_decision_is_read_through_the_same_check(tmp_path: Path) -> None:
    data = json.loads(SAMPLES["validate_release"].model_dump_json())
    del data["sha256"]
    (tmp_path / DECISION_FILE).write_text(json.dumps(data))
    with pytest.raises(ReportUnreadable, match="sha256: missing"):
        read_decision(tmp_path)


def test_a_missing_report_is_none_or_named(tmp_path: Path) -> None:
    assert read_report(tmp_path, BuildTablesReport) is None
    with pytest.raises(MissingReport, match=r"build_tables\.json"):
        require_report(tmp_path, BuildTablesReport)


def test_an_invalid_report_is_not_written(tmp_path: Path) -> None:
    """Validated on write: a nested value changed after the model was built is refused."""
    report = BuildTablesReport(datasets={"t": 1})
    report.datasets["t"] = SECRET  # type: ignore[assignment]
    with pytest.raises(ReportInvalid, match=r"datasets\.t: int") as caught:
        write_report(tmp_path, report)
    assert SECRET not in str(caught.value)
    assert not report_path(tmp_path, "build_tables").exists()


def test_a_step_report_is_frozen() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SAMPLES["build_tables"].datasets = {}  # type: ignore[misc]
