"""Report specs: the statistical tables anonrelease builds, one YAML file each (data/reports/).

A spec names its source, the dimensions (each a customer or activity attribute at a chosen
level), the measure, the date window relative to the run date, the protection methods it
allows (the first is the default) and the recipient kinds that may receive it. Specs are
checked completely at load: an unknown source, attribute, level, measure or method fails with
the file and the field named, so nothing is found wrong halfway through a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.settings.paths import DATA_DIR
from pipeline.settings.release_config import yaml_problem
from transforms.errors import ConfigurationError
from transforms.options import PROTECTION_METHODS

DEFAULT_REPORTS = DATA_DIR / "reports"

Source = Literal[
    "customers",
    "service_usage",
    "questionnaire_responses",
    "campaign_applications",
    "mail_subscriptions",
    "web_access_log",
]
RecipientKindName = Literal["cooperative_business", "advertising_sponsor", "contractor", "internal"]

# Customer attributes every customer-owned source can be broken down by (joined on the
# pseudonym), and each source's own attributes.
CUSTOMER_ATTRIBUTES = ("age", "gender", "postal_code", "main_course")
SOURCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "customers": CUSTOMER_ATTRIBUTES,
    "service_usage": (
        *CUSTOMER_ATTRIBUTES,
        "course",
        "visit_month",
        "visit_quarter",
        "store_area",
    ),
    "questionnaire_responses": (*CUSTOMER_ATTRIBUTES, "channel", "answered_month"),
    "campaign_applications": (*CUSTOMER_ATTRIBUTES, "campaign", "channel"),
    "mail_subscriptions": (*CUSTOMER_ATTRIBUTES, "mail_list"),
    "web_access_log": ("day",),
}
# The numeric columns a sum, mean or share may be taken of, per source.
SOURCE_MEASURES: dict[str, tuple[str, ...]] = {
    "service_usage": ("amount_yen",),
    "questionnaire_responses": (
        "satisfaction_overall",
        "satisfaction_staff",
        "satisfaction_cleanliness",
        "satisfaction_value",
    ),
}
# Levels of the shipped hierarchies a table may use (0 = the value itself).
# store_area: 0 = the store's region (地方), 1 = 東日本 / 西日本.
HIERARCHY_LEVELS = {
    "age": (0, 1, 2, 3),
    "postal_code": (1, 2),
    "gender": (0,),
    "store_area": (0, 1),
}
# Where a source's window is counted from (None: a stock as of the run date).
WINDOW_DATES: dict[str, str | None] = {
    "customers": None,
    "service_usage": "visit_date",
    "questionnaire_responses": "answered_on",
    "campaign_applications": "applied_on",
    "mail_subscriptions": None,
    "web_access_log": "accessed_at",
}
METHODS = PROTECTION_METHODS
COUNT_MEASURES = ("customers", "records")


class ReportSpecError(ConfigurationError):
    """A report spec is missing or invalid; the message names the file and field."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Title(_Strict):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)


class DimensionSpec(_Strict):
    """One dimension: an attribute at a level (a hierarchy level, or age bands)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    attribute: str
    level: int | None = None
    # Age only: lower bounds of the bands, the last one open (``[0, 20, 30]``: 0-19, 20-29, 30+).
    bands: tuple[int, ...] | None = None
    # postal_code at level 1 (prefecture) only: regional subtotals between prefecture and TOTAL.
    subtotals: bool = False

    @model_validator(mode="after")
    def _level_fits(self) -> DimensionSpec:
        if self.bands is not None:
            if self.attribute != "age":
                raise ValueError("bands: only the age attribute has bands")
            if list(self.bands) != sorted(set(self.bands)) or self.bands[0] != 0:
                raise ValueError("bands: must rise strictly from 0")
            if self.level is not None:
                raise ValueError("bands and level: give one")
        levels = HIERARCHY_LEVELS.get(self.attribute)
        if self.level is not None and levels is not None and self.level not in levels:
            raise ValueError(f"level: {self.attribute} has levels {list(levels)}")
        if levels is not None and self.level is None and self.bands is None:
            raise ValueError(f"level: {self.attribute} needs a level ({list(levels)})")
        if self.subtotals and not (self.attribute == "postal_code" and self.level == 1):
            raise ValueError("subtotals: only postal_code at level 1 has regional subtotals")
        return self


class MeasureSpec(_Strict):
    """What a cell holds: distinct customers, records, or a sum / mean / top-box share."""

    kind: Literal["customers", "records", "sum", "mean", "top_box_share"]
    column: str | None = None

    @model_validator(mode="after")
    def _column_given(self) -> MeasureSpec:
        if (self.kind in COUNT_MEASURES) != (self.column is None):
            raise ValueError("column: sum, mean and top_box_share need one; counts take none")
        return self


class WindowSpec(_Strict):
    """The last ``months`` complete calendar months before the run date's month, or the last
    ``quarters`` complete calendar quarters before its quarter (give one)."""

    months: int | None = Field(default=None, ge=1, le=120)
    quarters: int | None = Field(default=None, ge=1, le=40)

    @model_validator(mode="after")
    def _one(self) -> WindowSpec:
        if (self.months is None) == (self.quarters is None):
            raise ValueError("window: give months or quarters")
        return self


class SuppressMethod(_Strict):
    method: Literal["suppress"]
    min_contributors: int = Field(default=10, ge=2)
    # dominance (n, k): the n largest contributors hold more than k % of the cell; the
    # builder keeps each cell's two largest contributions (transforms.report_tables.TOP)
    dominance_n: int | None = Field(default=None, ge=1, le=2)
    dominance_k: float | None = Field(default=None, gt=0, lt=100)
    p_percent: float | None = Field(default=None, gt=0, lt=100)

    @model_validator(mode="after")
    def _dominance_pair(self) -> SuppressMethod:
        if (self.dominance_n is None) != (self.dominance_k is None):
            raise ValueError("dominance_n and dominance_k: give both or neither")
        return self


class CellKeyMethod(_Strict):
    method: Literal["cellkey"]
    ptable: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.csv$")


class DPMethod(_Strict):
    method: Literal["dp"]
    epsilon: float = Field(gt=0, le=10)
    mechanism: Literal["laplace", "gaussian"] = "laplace"
    delta: float | None = Field(default=None, gt=0, lt=1)


Protection = Annotated[SuppressMethod | CellKeyMethod | DPMethod, Field(discriminator="method")]


class ReportSpec(_Strict):
    """One table of the catalogue (see the module doc)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: Title
    source: Source
    unit: Literal["customer"] = "customer"
    dimensions: tuple[DimensionSpec, ...] = Field(min_length=1, max_length=4)
    measure: MeasureSpec
    # source column -> allowed values (rows outside are excluded from the table, counted)
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    window: WindowSpec | None = None
    margins: bool = True
    protection: tuple[Protection, ...] = Field(min_length=1)
    recipients: tuple[RecipientKindName, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ReportSpec:
        attributes = SOURCE_ATTRIBUTES[self.source]
        for i, dim in enumerate(self.dimensions):
            if dim.attribute not in attributes:
                raise ValueError(
                    f"dimensions.{i}.attribute: {dim.attribute!r} is not an attribute of "
                    f"{self.source} (valid: {', '.join(attributes)})"
                )
            if dim.level is not None and dim.attribute not in HIERARCHY_LEVELS:
                raise ValueError(f"dimensions.{i}.level: {dim.attribute} has no levels")
        names = [d.name for d in self.dimensions]
        if len(set(names)) != len(names):
            raise ValueError("dimensions: names must be unique")
        if self.measure.column is not None:
            columns = SOURCE_MEASURES.get(self.source, ())
            if self.measure.column not in columns:
                raise ValueError(
                    f"measure.column: {self.measure.column!r} is not a numeric column of "
                    f"{self.source} (valid: {', '.join(columns) or 'none'})"
                )
        methods = [p.method for p in self.protection]
        if len(set(methods)) != len(methods):
            raise ValueError("protection: each method at most once")
        if self.measure.kind not in COUNT_MEASURES and set(methods) - {"suppress"}:
            raise ValueError("protection: cellkey and dp protect counts only; use suppress")
        if self.window is None and WINDOW_DATES[self.source] not in (None,):
            raise ValueError(f"window: {self.source} needs a window (months)")
        if self.window is not None and WINDOW_DATES[self.source] is None:
            raise ValueError(f"window: {self.source} is a stock as of the run date; no window")
        own = [d.name for d in self.dimensions if d.attribute not in CUSTOMER_ATTRIBUTES]
        if self.measure.kind == "customers" and own and "suppress" in methods:
            raise ValueError(
                "protection: distinct customers do not add up across "
                f"{', '.join(own)} (one customer, several categories), so secondary "
                "suppression cannot protect them; count records or drop suppress"
            )
        if "dp" in methods and (self.measure.kind != "customers" or own):
            raise ValueError(
                "protection: dp bounds one customer's contribution to one interior cell: "
                "distinct customers by customer attributes only"
            )
        if self.source == "web_access_log" and set(self.recipients) != {"internal"}:
            raise ValueError("recipients: web access statistics stay internal")
        return self

    def method(self, name: str | None = None) -> SuppressMethod | CellKeyMethod | DPMethod:
        """The protection ``name`` (default: the spec's first); a ReportSpecError lists
        the methods this spec allows when it does not allow ``name``."""
        for p in self.protection:
            if name is None or p.method == name:
                return p
        allowed = ", ".join(p.method for p in self.protection)
        raise UnknownReportOptionError(f"{self.name}: method {name!r} not allowed ({allowed})")


class UnknownReportOptionError(ConfigurationError):
    """An analyst asked for a spec, method or window that does not exist (lists the valid)."""


def load_spec(path: Path) -> ReportSpec:
    """One spec file, validated; a ReportSpecError names the file and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportSpecError(path, "file not found") from None
    except (OSError, UnicodeDecodeError):
        raise ReportSpecError(path, "cannot be read as UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ReportSpecError(path, yaml_problem(exc)) from None
    if not isinstance(raw, dict):
        raise ReportSpecError(path, "expected a mapping of spec fields")
    try:
        spec = ReportSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ReportSpecError(path, f"{where}: {message}") from None
    if spec.name != path.stem:
        raise ReportSpecError(path, f"name: must equal the file name ({path.stem})")
    return spec


def load_catalogue(folder: Path = DEFAULT_REPORTS) -> dict[str, ReportSpec]:
    """Every spec of ``folder`` (``*.yaml``), by name, in name order."""
    return {s.name: s for s in _specs(folder)}


@cache
def _specs(folder: Path) -> tuple[ReportSpec, ...]:
    """Read once per process (a step asked for the catalogue up to three times; a run is
    several processes, so an edited spec is read by the next run). Specs are frozen."""
    return tuple(load_spec(p) for p in sorted(folder.glob("*.yaml")))


def spec_named(catalogue: dict[str, ReportSpec], name: str) -> ReportSpec:
    """The spec ``name``; an unknown name lists the catalogue."""
    if name not in catalogue:
        known = ", ".join(catalogue) or "none"
        raise UnknownReportOptionError(f"no report spec {name!r} (known: {known})")
    return catalogue[name]


def spec_names(catalogue: dict[str, ReportSpec]) -> Sequence[str]:
    return tuple(catalogue)
