"""Custom Great Expectations (GX Core 1.24) for the release contract.

Each expectation is a GX ``BatchExpectation`` backed by a pandas ``TableMetricProvider`` (or a
``ColumnMapExpectation`` for row-level checks), so it runs inside ordinary suites, checkpoints
and Data Docs. Metrics compute **counts only**: results carry numbers of rows, cells, classes and
column names, never a value from the data, whatever ``result_format`` a caller asks for.

Importing this module registers the expectations with GX; import it before loading a suite that
names them (``expectations.suites`` does).

Table-level (privacy):

- ``expect_columns_to_contain_no_direct_identifiers`` (:mod:`expectations.identifiers`)
- ``expect_table_cells_to_meet_minimum_count`` / ``..._dominance_rule`` / ``..._p_percent_rule``
  (:mod:`expectations.cell_rules`)
- ``expect_table_to_be_k_anonymous``, ``expect_table_to_be_l_diverse``,
  ``expect_table_to_be_t_close`` (:mod:`expectations.privacy`, which calls the project's one
  implementation in ``transforms.privacy_models``)

Row-level (raw data quality):

- ``expect_column_values_to_be_iso_dates``: real ``YYYY-MM-DD`` dates (text or typed).
- ``expect_column_values_to_be_iso_dates_between``: a plausible date range; non-dates are left
  to the rule above, so a row gets one reason per problem.
- ``expect_column_values_to_be_iso_timestamps``: ISO 8601 timestamps (text or typed).
- ``expect_column_values_to_be_numbers_between``: numbers (optionally integers) in a range, on
  raw text or typed columns, without erroring on a non-number.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional, Tuple, Union  # noqa: UP035

import numpy as np
import pandas as pd
from great_expectations.compatibility.pydantic import validator
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    BatchExpectation,
    ColumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import (
    TableMetricProvider,
)
from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
from great_expectations.render.renderer.renderer import renderer

from expectations.cell_rules import (
    count_dominated_cells,
    count_p_percent_cells,
    count_small_cells,
)
from expectations.identifiers import (
    ALL_KINDS,
    DEFAULT_SAMPLE_SIZE,
    DEFAULT_SEED,
    scan_frame,
)

_LIBRARY_METADATA: Dict[str, Any] = {  # noqa: UP006
    "maturity": "experimental",
    "tags": ["privacy", "anonrelease"],
    "contributors": ["@anonrelease"],
    "requirements": [],
}


class RenderedAsSentence:
    """Mixin: Data Docs describe the expectation in a sentence (``_template``) built from its
    configuration (column names and thresholds, never data) instead of raw kwargs."""

    _template: ClassVar[str] = ""
    _none_words: ClassVar[dict[str, str]] = {}  # how a parameter left at None reads

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(
        cls,
        configuration: Any = None,
        result: Any = None,
        runtime_configuration: Any = None,
        **kwargs: Any,
    ) -> list[RenderedStringTemplateContent]:
        if configuration is None and result is not None:
            configuration = result.expectation_config
        given = dict(configuration.kwargs) if configuration is not None else {}
        params: dict[str, Any] = {}
        for name, model_field in getattr(cls, "__fields__", {}).items():
            value = given.get(name, model_field.default)
            if isinstance(value, list | tuple):
                value = ", ".join(map(str, value))
            if value is None:
                value = cls._none_words.get(name, "all" if name in ("columns", "kinds") else "-")
            params[name] = value
        if "column" in given:
            params["column"] = given["column"]
        return [
            RenderedStringTemplateContent(
                content_block_type="string_template",
                string_template={"template": cls._template, "params": params},
            )
        ]


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _table(execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict) -> pd.DataFrame:
    df, _, _ = execution_engine.get_compute_domain(
        domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
    )
    return df


# --------------------------------------------------------------------------- direct identifiers


class DirectIdentifierCounts(TableMetricProvider):
    """Per-column and per-kind counts of values that look like direct identifiers."""

    metric_name = "anonrelease.direct_identifier_counts"
    value_keys = ("columns", "kinds", "sample_size", "seed")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        df = _table(execution_engine, metric_domain_kwargs)
        report = scan_frame(
            df,
            columns=metric_value_kwargs.get("columns"),
            kinds=tuple(metric_value_kwargs.get("kinds") or ALL_KINDS),
            sample_size=metric_value_kwargs.get("sample_size"),
            seed=int(metric_value_kwargs.get("seed") or DEFAULT_SEED),
        )
        by_kind: dict[str, int] = {}
        for per_kind in report.counts.values():
            for kind, n in per_kind.items():
                by_kind[kind] = by_kind.get(kind, 0) + n
        return {
            "rows_total": report.rows_total,
            "rows_scanned": report.rows_scanned,
            "cells_scanned": report.rows_scanned * len(report.counts),
            "flagged_columns": dict(sorted(report.flagged.items())),
            "by_kind": {k: v for k, v in sorted(by_kind.items()) if v},
        }


class ExpectColumnsToContainNoDirectIdentifiers(RenderedAsSentence, BatchExpectation):
    """Expect no column to contain emails, phones, postal codes, addresses, My Numbers or names.

    Args:
        columns: columns to scan; ``None`` scans every column.
        kinds: identifier kinds to look for (default: all of
            ``email, phone, postal_code, street_address, my_number, person_name``).
        sample_size: tables with more rows are scanned on a seeded random sample of this size
            (``None``: all rows).
        seed: the sample's seed; the same input and seed give the same result.

    The result names the flagged columns and how many values matched, per kind; never a value.
    """

    _template: ClassVar[str] = (
        "No value in columns $columns may look like a direct identifier (email, phone, postal "
        "code, street address, My Number, personal name); kinds: $kinds; seeded sample of "
        "$sample_size rows."
    )

    columns: Optional[List[str]] = None  # noqa: UP006, UP045
    kinds: Optional[List[str]] = None  # noqa: UP006, UP045
    sample_size: Optional[int] = DEFAULT_SAMPLE_SIZE  # noqa: UP045
    seed: int = DEFAULT_SEED

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    metric_dependencies = ("anonrelease.direct_identifier_counts",)
    success_keys = ("columns", "kinds", "sample_size", "seed")
    args_keys = ("columns",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        m = metrics["anonrelease.direct_identifier_counts"]
        hits = sum(m["flagged_columns"].values())
        return {
            "success": hits == 0,
            "result": {
                "observed_value": hits,
                "element_count": m["cells_scanned"],
                "unexpected_count": hits,
                "unexpected_percent": _percent(hits, m["cells_scanned"]),
                "details": {
                    "rows_scanned": m["rows_scanned"],
                    "flagged_columns": m["flagged_columns"],
                    "by_kind": m["by_kind"],
                },
            },
        }


# ------------------------------------------------------------------------------ table cells


class SmallCellCounts(TableMetricProvider):
    """Number of published frequency cells below the minimum count."""

    metric_name = "anonrelease.small_cell_counts"
    value_keys = ("count_column", "min_count", "allow_zero")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        df = _table(execution_engine, metric_domain_kwargs)
        allow_zero = metric_value_kwargs.get("allow_zero")
        return count_small_cells(
            df,
            count_column=metric_value_kwargs["count_column"],
            min_count=int(metric_value_kwargs["min_count"]),
            allow_zero=True if allow_zero is None else bool(allow_zero),
        )


class ExpectTableCellsToMeetMinimumCount(RenderedAsSentence, BatchExpectation):
    """Expect every published count of a frequency table to be at least ``min_count``.

    Suppressed cells (null count) are fine; zero cells are fine unless ``allow_zero`` is false.
    """

    _template: ClassVar[str] = (
        "Every published count in $count_column must be at least $min_count (suppressed cells are "
        "fine; zero allowed: $allow_zero)."
    )

    count_column: str
    min_count: int
    allow_zero: bool = True

    @validator("min_count", pre=True)
    def _min_count_is_whole(cls, value: Any) -> Any:  # noqa: N805 - pydantic validators take cls
        """Refuse 9.5 instead of letting pydantic truncate it to a weaker minimum of 9."""
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("min_count must be a whole number")
        return value

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    metric_dependencies = ("anonrelease.small_cell_counts",)
    success_keys = ("count_column", "min_count", "allow_zero")
    args_keys = ("count_column", "min_count")

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        return _cell_result(metrics["anonrelease.small_cell_counts"])


def _cell_result(m: dict) -> dict:
    return {
        "success": m["n_unsafe"] == 0,
        "result": {
            "observed_value": m["n_unsafe"],
            "element_count": m["n_cells"],
            "unexpected_count": m["n_unsafe"],
            "unexpected_percent": _percent(m["n_unsafe"], m["n_cells"]),
            "details": {"n_cells": m["n_cells"], "n_suppressed": m["n_suppressed"]},
        },
    }


class DominatedCellCounts(TableMetricProvider):
    """Number of magnitude cells that fail the (n, k) dominance rule."""

    metric_name = "anonrelease.dominated_cell_counts"
    value_keys = ("total_column", "top_columns", "n", "k")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        df = _table(execution_engine, metric_domain_kwargs)
        return count_dominated_cells(
            df,
            total_column=metric_value_kwargs["total_column"],
            top_columns=list(metric_value_kwargs["top_columns"]),
            n=int(metric_value_kwargs["n"]),
            k=float(metric_value_kwargs["k"]),
        )


class ExpectMagnitudeCellsToSatisfyDominanceRule(RenderedAsSentence, BatchExpectation):
    """Expect no magnitude cell's ``n`` largest contributions to exceed ``k`` % of its total.

    Input: ``total_column`` (cell total, null when suppressed) and ``top_columns``, the largest
    contributions in descending order (``["top1", "top2"]``); see :mod:`expectations.cell_rules`.
    """

    _template: ClassVar[str] = (
        "Dominance rule: the $n largest contributions ($top_columns) may not exceed $k % of "
        "$total_column in any cell."
    )

    total_column: str = "total"
    top_columns: List[str] = ["top1", "top2"]  # noqa: RUF012, UP006
    n: int = 2
    k: float = 85.0

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    metric_dependencies = ("anonrelease.dominated_cell_counts",)
    success_keys = ("total_column", "top_columns", "n", "k")
    args_keys = ("total_column", "top_columns", "n", "k")

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        return _cell_result(metrics["anonrelease.dominated_cell_counts"])


class PPercentCellCounts(TableMetricProvider):
    """Number of magnitude cells that fail the p % rule."""

    metric_name = "anonrelease.p_percent_cell_counts"
    value_keys = ("total_column", "top1_column", "top2_column", "p")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        df = _table(execution_engine, metric_domain_kwargs)
        return count_p_percent_cells(
            df,
            total_column=metric_value_kwargs["total_column"],
            top1_column=metric_value_kwargs["top1_column"],
            top2_column=metric_value_kwargs["top2_column"],
            p=float(metric_value_kwargs["p"]),
        )


class ExpectMagnitudeCellsToSatisfyPPercentRule(RenderedAsSentence, BatchExpectation):
    """Expect no cell where the runner-up could estimate the largest contribution within p %.

    Unsafe when ``total - top1 - top2 < p/100 * top1``; suppressed cells (null total) are fine.
    """

    _template: ClassVar[str] = (
        "p % rule: in no cell of $total_column may the runner-up ($top2_column) estimate the "
        "largest contribution ($top1_column) within $p %."
    )

    total_column: str = "total"
    top1_column: str = "top1"
    top2_column: str = "top2"
    p: float = 10.0

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    metric_dependencies = ("anonrelease.p_percent_cell_counts",)
    success_keys = ("total_column", "top1_column", "top2_column", "p")
    args_keys = ("total_column", "top1_column", "top2_column", "p")

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        return _cell_result(metrics["anonrelease.p_percent_cell_counts"])


# --------------------------------------------------------------------------------- row level


def _as_dates(column: pd.Series) -> pd.Series:
    """Datetime values of a typed column, or ISO ``YYYY-MM-DD`` text parsed (NaT if not)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column
    return pd.to_datetime(column.astype(str), format="%Y-%m-%d", errors="coerce")


def _bound(value: Any) -> pd.Timestamp:
    """A date bound as a naive timestamp (a run date may arrive as an aware datetime)."""
    stamp = pd.Timestamp(str(value))
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


class ColumnValuesIsoDates(ColumnMapMetricProvider):
    """True where a value is a date: typed datetime, or text in ``YYYY-MM-DD`` form."""

    condition_metric_name = "column_values.anonrelease_iso_dates"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        column: pd.Series,
        **kwargs: Any,
    ) -> Any:
        return _as_dates(column).notna()


class ExpectColumnValuesToBeIsoDates(RenderedAsSentence, ColumnMapExpectation):
    """Expect each non-null value to be a real calendar date written ``YYYY-MM-DD``.

    Works on raw text (``2024-02-30`` and ``20240101`` fail) and on typed datetime columns.
    """

    _template: ClassVar[str] = "$column values must be dates written YYYY-MM-DD."

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    map_metric = "column_values.anonrelease_iso_dates"
    success_keys = ("mostly",)
    args_keys = ("column",)


def _as_timestamps(column: pd.Series) -> pd.Series:
    """UTC timestamps of a typed column, or ISO 8601 text parsed as the raw parser does (NaT
    if not), so a value this rule accepts also parses in ``transforms.parse``."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
        column.dtype
    ):
        return column
    return pd.to_datetime(column.astype(str), format="ISO8601", errors="coerce", utc=True)


class ColumnValuesIsoTimestamps(ColumnMapMetricProvider):
    """True where a value is a timestamp: typed datetime, or ISO 8601 text."""

    condition_metric_name = "column_values.anonrelease_iso_timestamps"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        column: pd.Series,
        **kwargs: Any,
    ) -> Any:
        return _as_timestamps(column).notna()


class ExpectColumnValuesToBeIsoTimestamps(RenderedAsSentence, ColumnMapExpectation):
    """Expect each non-null value to be an ISO 8601 timestamp (``2026-11-24T23:30:00+09:00``).

    Works on raw text (``2026-11-24T25:00`` and ``24/11/2026`` fail) and typed datetimes.
    """

    _template: ClassVar[str] = "$column values must be ISO 8601 timestamps."

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    map_metric = "column_values.anonrelease_iso_timestamps"
    success_keys = ("mostly",)
    args_keys = ("column",)


class ColumnValuesIsoDatesBetween(ColumnMapMetricProvider):
    """True where a date lies in [min_value, max_value]; non-dates pass (another rule)."""

    condition_metric_name = "column_values.anonrelease_iso_dates_between"
    condition_value_keys = ("min_value", "max_value")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        column: pd.Series,
        min_value: Any,
        max_value: Any,
        **kwargs: Any,
    ) -> Any:
        parsed = _as_dates(column)
        ok = np.ones(len(column), dtype=bool)
        if min_value is not None:
            ok &= ~(parsed < _bound(min_value)).to_numpy(dtype=bool, na_value=False)
        if max_value is not None:
            ok &= ~(parsed > _bound(max_value)).to_numpy(dtype=bool, na_value=False)
        return pd.Series(ok, index=column.index)


class ExpectColumnValuesToBeIsoDatesBetween(RenderedAsSentence, ColumnMapExpectation):
    """Expect dates to lie between ``min_value`` and ``max_value`` (ISO text, inclusive).

    For plausibility ranges such as birth dates in 1900-01-01 .. run date. Values that are not
    dates pass here: ``expect_column_values_to_be_iso_dates`` reports them, so a row gets one
    reason per problem.
    """

    _template: ClassVar[str] = "$column dates must lie between $min_value and $max_value."

    min_value: Union[str, None] = None  # noqa: UP007
    max_value: Union[str, None] = None  # noqa: UP007

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    map_metric = "column_values.anonrelease_iso_dates_between"
    success_keys = ("min_value", "max_value", "mostly")
    args_keys = ("column", "min_value", "max_value")


class ColumnValuesNumbersBetween(ColumnMapMetricProvider):
    """True where a value is a number (an integer if asked) in [min_value, max_value]."""

    condition_metric_name = "column_values.anonrelease_numbers_between"
    condition_value_keys = ("min_value", "max_value", "integer")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        column: pd.Series,
        min_value: Any,
        max_value: Any,
        integer: Any,
        **kwargs: Any,
    ) -> Any:
        numbers = pd.to_numeric(column, errors="coerce").astype("float64")
        values = numbers.to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(values)
        if integer:
            ok &= np.floor(np.nan_to_num(values)) == np.nan_to_num(values)
        if min_value is not None:
            ok &= np.nan_to_num(values, nan=np.inf) >= float(min_value)
        if max_value is not None:
            ok &= np.nan_to_num(values, nan=-np.inf) <= float(max_value)
        return pd.Series(ok, index=column.index)


class ExpectColumnValuesToBeNumbersBetween(RenderedAsSentence, ColumnMapExpectation):
    """Expect each non-null value to be a number in [``min_value``, ``max_value``].

    Unlike the built-in ``expect_column_values_to_be_between`` it accepts raw text columns
    (``"3"`` is 3) and fails a value that is not a number instead of erroring the whole
    expectation; ``integer=True`` also fails fractions (satisfaction 1-5, amounts in yen).
    """

    _template: ClassVar[str] = (
        "$column values must be numbers between $min_value and $max_value (integers only: "
        "$integer)."
    )

    min_value: Union[float, None] = None  # noqa: UP007
    max_value: Union[float, None] = None  # noqa: UP007
    integer: bool = False

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    map_metric = "column_values.anonrelease_numbers_between"
    success_keys = ("min_value", "max_value", "integer", "mostly")
    args_keys = ("column", "min_value", "max_value")


CUSTOM_TYPES: Tuple[str, ...] = (  # noqa: UP006
    "expect_columns_to_contain_no_direct_identifiers",
    "expect_table_cells_to_meet_minimum_count",
    "expect_magnitude_cells_to_satisfy_dominance_rule",
    "expect_magnitude_cells_to_satisfy_p_percent_rule",
    "expect_column_values_to_be_iso_dates",
    "expect_column_values_to_be_iso_dates_between",
    "expect_column_values_to_be_iso_timestamps",
    "expect_column_values_to_be_numbers_between",
)
