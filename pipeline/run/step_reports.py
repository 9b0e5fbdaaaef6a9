"""The step reports, typed: what each step writes under ``<run>/reports/`` and what the
summary, the later steps and the tests read back.

Each report is a frozen pydantic model that forbids unknown fields, so a field renamed on one
side fails on read with the file and the field named, instead of a ``KeyError`` (or a silent
``.get`` default) far away. The JSON is the one the dict reports had: the same field names,
sorted keys, two-space indent; a field whose default is ``None`` is left out while it is None
(publish's ``failed`` appears only when a destination failed).

Adding a field to a report: add it to the model here with a default (``= 0``, ``= {}``,
``= None``) if reports written before it must still read, without one if not; set it where
the step builds the report. A new step: a ``StepReport`` subclass with ``step`` set, listed in
``REPORTS``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from pipeline.release.decision_record import DECISION_FILE, DecisionRecord
from pipeline.settings.storage import write_private
from transforms.errors import DataError, InternalError
from transforms.periods import Cadence

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound="StepReport")


class ReportUnreadable(DataError):
    """A report file does not parse as its model: edited, truncated or from another version.

    The message names the file and the fields at fault (their location and the kind of
    error), never a value: a report may be shown to anyone who may see the run folder.
    """

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: not a valid {path.stem} report: {'; '.join(problems)}")
        self.path, self.problems = path, problems


class ReportInvalid(InternalError):
    """A step built a report its model rejects (a bug): nothing is written."""

    def __init__(self, step: str, problems: list[str]) -> None:
        super().__init__(f"{step}: report not written, it is invalid: {'; '.join(problems)}")
        self.step, self.problems = step, problems


def _problems(exc: ValidationError) -> list[str]:
    """Where and what kind of error, never the input (it may be data)."""
    return [
        f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['type']}"
        for e in exc.errors(include_input=False, include_url=False)
    ]


class MissingReport(InternalError):
    """A step needs an earlier step's report and there is none (the steps ran out of order)."""

    def __init__(self, reports_dir: Path, step: str) -> None:
        super().__init__(f"{report_path(reports_dir, step)}: no {step} report (did {step} run?)")
        self.reports_dir, self.step = reports_dir, step


class ReportModel(BaseModel):
    """Frozen, no unknown field; a field defaulting to None is omitted while it is None."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    @model_serializer(mode="wrap")
    def _omit_unset_optionals(self, handler: SerializerFunctionWrapHandler) -> object:
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                key = field.alias or name
                if field.default is None and getattr(self, name) is None:
                    data.pop(key, None)
        return data


class StepReport(ReportModel):
    """A report one step writes as ``reports/<step>.json``."""

    step: ClassVar[str]


# --- extract -------------------------------------------------------------------------------


class ExtractReport(StepReport):
    step: ClassVar[str] = "extract"

    rows_read: dict[str, int]  # source table -> rows in its snapshot
    withdrawn: list[str]  # folders an earlier attempt of this run had published


# --- validate_raw --------------------------------------------------------------------------


class TableCounts(ReportModel):
    """in = clean + quarantined + out_of_scope."""

    rows_in: int = Field(alias="in")
    clean: int
    quarantined: int
    out_of_scope: int


class ValidateRawReport(StepReport):
    step: ClassVar[str] = "validate_raw"

    tables: dict[str, TableCounts]


# --- apply_customer_requests ---------------------------------------------------------------


class TombstoneCounts(ReportModel):
    recorded: int  # this run
    total: int


class ConsentCounts(ReportModel):
    """Customers in the run by their latest consent to one purpose besides statistics."""

    granted: int
    not_granted: int  # they stay in internal statistics and leave that purpose's datasets


class DisclosureCounts(ReportModel):
    """Pending disclosure requests, answered into the run's owner-only disclosures/ folder."""

    answered: int  # files written, one per request
    unknown_customer: int
    unreadable: int


class ApplyCustomerRequestsReport(StepReport):
    step: ClassVar[str] = "apply_customer_requests"

    customers_excluded: dict[str, int]  # reason -> customers
    rows_excluded: dict[str, int]  # table -> rows (customers included)
    tombstoned: dict[str, int]  # table -> rows of customers deleted earlier
    tombstones: TombstoneCounts
    corrections_applied: int
    corrections_rejected: int
    corrections_superseded: int
    corrections_of_excluded_customers: int
    # purpose -> counts (absent from reports written before purpose-bound consent)
    consent: dict[str, ConsentCounts] = Field(default_factory=dict)
    disclosures: DisclosureCounts | None = None  # None in reports written before them


# --- deidentify ----------------------------------------------------------------------------


class SeriesProfile(ReportModel):
    """The customer profile of one microdata series, as of its cut-off (ISO dates)."""

    cutoff: str
    reference_date: str
    customers: int  # in the series: inside the hierarchies and consented to its purposes
    outside_hierarchies: int
    # The consent purposes of the series' recipients (pipeline.release.purposes) and the
    # customers inside the hierarchies left out for want of them; () / 0 in older reports.
    purposes: tuple[str, ...] = ()
    without_consent: int = 0


class DeidentifyReport(StepReport):
    step: ClassVar[str] = "deidentify"

    rows: dict[str, int]  # customers / usage / questionnaires -> rows kept
    quarantined_outside_hierarchies: dict[str, int]  # same keys -> rows quarantined
    web_page_views: int
    age_reference: str  # ISO date the tables' ages are taken at
    series: dict[Cadence, SeriesProfile]


# --- anonymize -----------------------------------------------------------------------------


class _SeriesOutcome(ReportModel):
    """What anonymize reports of every series, released or held."""

    cutoff: str
    reference_date: str
    records: int
    frozen: bool
    search_seconds: float
    nodes_checked: int


class HeldSeries(_SeriesOutcome):
    """A series not released this run: its frozen transformation no longer holds."""

    held: str  # why, and what the operator does about it


class ReleasedSeries(_SeriesOutcome):
    """A series generalized and written for build_tables."""

    transformation: dict[str, int]  # quasi-identifier -> hierarchy level
    suppressed: int
    classes: int
    min_class_size: int
    loss: float | None
    metric: str


class AnonymizeReport(StepReport):
    step: ClassVar[str] = "anonymize"

    # A held entry has ``held`` and none of the release fields; extra="forbid" tells them apart.
    series: dict[Cadence, ReleasedSeries | HeldSeries]

    def released(self) -> dict[Cadence, ReleasedSeries]:
        """The series with a release this run (cadence -> entry)."""
        return {c: e for c, e in self.series.items() if isinstance(e, ReleasedSeries)}


# --- build_tables --------------------------------------------------------------------------


class BuildTablesReport(StepReport):
    step: ClassVar[str] = "build_tables"

    # What reports of the retired 4-D count table recorded: read (and dropped) so that a
    # night released before its retirement still has a summary.
    RETIRED: ClassVar[tuple[str, ...]] = ("table_min_cell_count", "table_cells_suppressed")

    datasets: dict[str, int]  # candidate name -> rows in its CSV (a report table: its cells)
    # candidate name -> the consent purposes its population consented to (every dataset;
    # absent from reports written before purpose-bound consent)
    purposes: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # report table -> its summary (pipeline.release.reports.BuiltReport.summary: cells,
    # published share, suppressed, method and parameters, the dimensions' code trees)
    reports: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in cls.RETIRED}
        return data


# --- validate_release ----------------------------------------------------------------------


class ValidateReleaseReport(DecisionRecord, StepReport):
    """The gate's decision record (also written as ``release_decision.json`` for publish)."""

    step: ClassVar[str] = "validate_release"


# --- publish -------------------------------------------------------------------------------


class PublishedFolder(ReportModel):
    folder: str
    files: list[str]


class PublishReport(StepReport):
    step: ClassVar[str] = "publish"

    published: dict[str, PublishedFolder]  # recipient -> its release folder
    blocked: dict[str, list[str]]
    held: dict[str, dict[str, str]]
    not_due: dict[str, dict[str, str]]
    # recipient -> dataset -> why (agreement not in force, no published notice)
    refused: dict[str, dict[str, str]] = Field(default_factory=dict)
    withdrawn: list[str]
    failed: dict[str, str] | None = None  # recipient -> why its destination failed


REPORTS: Mapping[str, type[StepReport]] = {
    m.step: m
    for m in (
        ExtractReport,
        ValidateRawReport,
        ApplyCustomerRequestsReport,
        DeidentifyReport,
        AnonymizeReport,
        BuildTablesReport,
        ValidateReleaseReport,
        PublishReport,
    )
}


def report_path(reports_dir: Path, step: str) -> Path:
    return reports_dir / f"{step}.json"


def report_json(report: StepReport) -> str:
    """The file's text: validated against the step's model first, so what is written reads."""
    model = REPORTS[report.step]
    if type(report) is not model:
        problems = [f"(report): a {type(report).__name__}, not a {model.__name__}"]
        raise ReportInvalid(report.step, problems)
    data = report.model_dump(mode="json", by_alias=True, warnings=False)
    try:
        model.model_validate(data)  # a nested value changed after construction fails here
    except ValidationError as exc:
        raise ReportInvalid(report.step, _problems(exc)) from None
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_report(reports_dir: Path, report: StepReport) -> Path:
    """Persist a step's report as ``<reports_dir>/<step>.json`` (owner-only)."""
    path = report_path(reports_dir, report.step)
    write_private(path, report_json(report))
    return path


def parse_report(path: Path, model: type[M]) -> M:
    """The report in ``path`` as ``model``; :class:`ReportUnreadable` names the file."""
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise ReportUnreadable(path, _problems(exc)) from None


def read_report(reports_dir: Path, model: type[R]) -> R | None:
    """The step's report if it was written (None if not), parsed as ``model``."""
    path = report_path(reports_dir, model.step)
    return parse_report(path, model) if path.exists() else None


def require_report(reports_dir: Path, model: type[R]) -> R:
    """The step's report; :class:`MissingReport` if the step has not written one."""
    report = read_report(reports_dir, model)
    if report is None:
        raise MissingReport(reports_dir, model.step)
    return report


def read_decision(reports_dir: Path) -> DecisionRecord | None:
    """The gate's decision record if validate_release wrote one (it does, even blocked)."""
    path = reports_dir / DECISION_FILE
    return parse_report(path, DecisionRecord) if path.exists() else None
