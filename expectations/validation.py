"""Run suites: ``run_validation`` (pass/fail + Data Docs) and ``split_valid_rows`` (quarantine).

Suites are JSON files under ``expectations/suites/`` in GX's own suite layout (``name``,
``expectations: [{type, kwargs, meta}]``) plus an ``anonrelease`` block in the suite ``meta``:

- ``parameters``: defaults for ``{"$PARAMETER": "name"}`` placeholders in kwargs. A placeholder
  without a default must be given by the caller (profile, recipient, run date), else the suite
  is a :class:`SuiteConfigError`. So the file holds the structure, the caller the numbers.
- ``references``: referential checks (``{"column": "customer_id", "context_key":
  "customer_ids"}``) that are evaluated here, outside GX, with ``numpy.isin``: putting the key
  set into an expectation's kwargs would copy every customer id into results and Data Docs.
  ``extract`` (a regex with one group) compares a part of the value (the 3-digit prefix of a
  postal code); ``required: false`` skips the check when the context key is absent.

A placeholder may shift a date parameter by whole years: ``{"$PARAMETER": "run_date",
"years_before": 120}`` is the run date 120 years earlier (29 February becomes 28 February).

An expectation's ``meta`` may hold ``reason`` (the words used in a quarantine reason) and
``skip_if_null`` (a parameter name: the expectation is left out when it is null, e.g. the
l-diversity check of a profile without ``l``).

Nothing a person wrote leaves this module: results are produced with ``result_format`` BASIC,
``partial_unexpected_count`` 0 and ``exclude_unexpected_values``, the custom expectations return
counts only, and failures carry expectation names, column names and counts.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.errors import ConfigurationError, DataError
from transforms.parse import REASON_COLUMN, ROW_COLUMN

SUITES_DIR = Path(__file__).resolve().parent / "suites"
PARAMETER_KEY = "$PARAMETER"
YEARS_BEFORE_KEY = "years_before"

# Published results: counts only (never a value, never row indices).
SAFE_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}
# Internal to split_valid_rows: row positions of failures; never stored or rendered.
_ROW_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}

COLUMN_KWARGS = (
    "column",
    "column_A",
    "column_B",
    "column_list",
    "qi",
    "columns",
    "sensitive",
    "count_column",
    "total_column",
    "top_columns",
    "top1_column",
    "top2_column",
)

_DEFAULT_REASONS = {
    "expect_column_values_to_not_be_null": "missing",
    "expect_column_values_to_be_unique": "duplicate",
    "expect_column_values_to_be_in_set": "not an allowed value",
    "expect_column_values_to_match_regex": "wrong format",
    "expect_column_values_to_match_strftime_format": "not a valid date",
    "expect_column_values_to_be_iso_dates": "not a valid date",
    "expect_column_values_to_be_iso_dates_between": "implausible date",
    "expect_column_values_to_be_iso_timestamps": "not a valid timestamp",
    "expect_column_values_to_be_numbers_between": "out of range",
    "expect_column_values_to_be_between": "out of range",
}


class SuiteConfigError(ConfigurationError):
    """A suite cannot run on this input: unknown suite, missing parameter or missing column.

    Carries the suite, the expectation and the column (or parameter) by name.
    """

    def __init__(
        self,
        suite: str,
        problem: str,
        *,
        expectation: str | None = None,
        column: str | None = None,
    ) -> None:
        self.suite = suite
        self.expectation = expectation
        self.column = column
        self.problem = problem
        where = f"suite {suite!r}"
        if expectation:
            where += f", expectation {expectation!r}"
        if column:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


class TableRuleFailed(DataError):
    """A table-level rule (the column set) failed while splitting rows: no single row is to
    blame, so the whole table fails, naming the table, the suite, the rule and the columns."""

    def __init__(self, table: str, suite: str, expectation: str, detail: str) -> None:
        super().__init__(f"{table}: table rule {expectation} of suite {suite!r} failed: {detail}")
        self.table, self.suite, self.expectation, self.detail = table, suite, expectation, detail


@dataclass(frozen=True)
class Failure:
    """One failed expectation: names and counts, never values."""

    expectation: str
    column: str | None
    unexpected_count: int | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "unexpected_count": self.unexpected_count,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ValidationOutcome:
    """A suite's verdict on one dataset. ``statistics['rows']`` says how many rows were seen."""

    success: bool
    statistics: Mapping[str, Any]
    failures: tuple[Failure, ...] = ()
    docs_index: Path | None = None
    suite: str = ""

    @property
    def rows(self) -> int:
        return int(self.statistics.get("rows", 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "success": self.success,
            "statistics": dict(self.statistics),
            "failures": [f.to_dict() for f in self.failures],
            "docs_index": str(self.docs_index) if self.docs_index else None,
        }


@dataclass(frozen=True)
class Reference:
    """Referential check: every non-null ``column`` value is in ``context[context_key]``.

    ``extract``: a regex with one group; the captured part is checked, and a value the regex
    does not match is left to the format rule (one reason per problem). ``required=False``:
    the check is skipped when the caller gives no ``context_key`` (or ``None``).
    """

    column: str
    context_key: str
    reason: str = "unknown key"
    extract: str | None = None
    required: bool = True


@dataclass(frozen=True)
class SuiteSpec:
    """A suite file with its parameters filled in: plain dicts, ready for GX."""

    name: str
    expectations: tuple[dict[str, Any], ...]
    references: tuple[Reference, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- suite files


def available_suites() -> tuple[str, ...]:
    """Names of the shipped suites."""
    return tuple(sorted(p.stem for p in SUITES_DIR.glob("*.json")))


def _suite_path(suite: str | Path) -> Path:
    path = Path(suite)
    if path.suffix == ".json" and path.exists():
        return path
    return SUITES_DIR / f"{suite}.json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10] if type(value) is dt.date else value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _years_before(value: Any, years: Any, *, name: str, suite: str, expectation: str) -> str:
    """``value`` (a date, datetime or ISO text) ``years`` whole years earlier, as ISO text."""
    if not isinstance(years, int) or isinstance(years, bool) or years < 0:
        raise SuiteConfigError(
            suite, f"{YEARS_BEFORE_KEY} of {name!r} must be a whole number", expectation=expectation
        )
    try:
        if isinstance(value, dt.datetime):
            day = value.date()
        elif isinstance(value, dt.date):
            day = value
        else:
            day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise SuiteConfigError(
            suite, f"parameter {name!r} is not a date", expectation=expectation
        ) from None
    try:
        return day.replace(year=day.year - years).isoformat()
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28).isoformat()


def _substitute(value: Any, params: Mapping[str, Any], suite: str, expectation: str) -> Any:
    if isinstance(value, dict):
        if PARAMETER_KEY in value and set(value) <= {PARAMETER_KEY, YEARS_BEFORE_KEY}:
            name = value[PARAMETER_KEY]
            if name not in params:
                raise SuiteConfigError(
                    suite, f"parameter {name!r} is not set", expectation=expectation
                )
            if YEARS_BEFORE_KEY not in value:
                return _jsonable(params[name])
            if params[name] is None:
                raise SuiteConfigError(
                    suite, f"parameter {name!r} is not set", expectation=expectation
                )
            return _years_before(
                params[name],
                value[YEARS_BEFORE_KEY],
                name=name,
                suite=suite,
                expectation=expectation,
            )
        return {k: _substitute(v, params, suite, expectation) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params, suite, expectation) for v in value]
    return value


def load_suite(suite: str | Path, /, *, parameters: Mapping[str, Any] | None = None) -> SuiteSpec:
    """Read a suite file and fill in its parameters (caller's values over the file's defaults)."""
    path = _suite_path(suite)
    name = path.stem
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteConfigError(
            str(suite), f"no such suite (shipped: {', '.join(available_suites())})"
        ) from None
    except json.JSONDecodeError as exc:
        raise SuiteConfigError(name, f"{path}: not valid JSON: {exc.msg}") from None
    entries = raw.get("expectations") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        # a typo ("expectation") or an empty list would otherwise check nothing and pass
        raise SuiteConfigError(name, "the suite file lists no expectations")
    name = raw.get("name", name)
    own = (raw.get("meta") or {}).get("anonrelease") or {}
    params = {**own.get("parameters", {}), **(parameters or {})}
    expectations = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise SuiteConfigError(name, "every expectation needs a 'type'")
        etype = entry["type"]
        skip = (entry.get("meta") or {}).get("skip_if_null")
        if skip and params.get(skip) is None:
            continue
        kwargs = _substitute(entry.get("kwargs", {}), params, name, etype)
        expectations.append(
            {"type": etype, "kwargs": kwargs, "meta": copy.deepcopy(entry.get("meta") or {})}
        )
    references = tuple(_reference(r, name) for r in own.get("references", []))
    if not expectations and not references:
        raise SuiteConfigError(
            name, "every expectation was skipped (skip_if_null): nothing checked"
        )
    return SuiteSpec(name, tuple(expectations), references, meta=own)


def _reference(entry: Mapping[str, Any], suite: str) -> Reference:
    try:
        ref = Reference(**entry)
    except TypeError as exc:
        raise SuiteConfigError(suite, f"invalid reference: {exc}") from None
    if ref.extract is not None:
        try:
            groups = re.compile(ref.extract).groups
        except re.error:
            groups = -1
        if groups != 1:
            raise SuiteConfigError(
                suite,
                "extract must be a regex with exactly one group",
                expectation=f"reference:{ref.context_key}",
                column=ref.column,
            )
    return ref


def _expectation_columns(kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key in COLUMN_KWARGS:
        if key not in kwargs:
            continue
        value = kwargs[key]
        if isinstance(value, list | tuple):
            found.extend((key, v) for v in value)
        else:
            found.append((key, value))
    return found


def check_columns(spec: SuiteSpec, columns: Sequence[str], /) -> None:
    """Every column an expectation (or reference) names must exist in the data."""
    present = set(map(str, columns))
    for entry in spec.expectations:
        for key, col in _expectation_columns(entry["kwargs"]):
            if key in ("columns", "top_columns") and entry["kwargs"][key] is None:
                continue
            if col is None:
                raise SuiteConfigError(
                    spec.name, f"{key} is not set", expectation=entry["type"], column=None
                )
            if str(col) not in present:
                raise SuiteConfigError(
                    spec.name,
                    "the data has no such column",
                    expectation=entry["type"],
                    column=str(col),
                )
    for ref in spec.references:
        if ref.column not in present:
            raise SuiteConfigError(
                spec.name,
                "the data has no such column",
                expectation=f"reference:{ref.context_key}",
                column=ref.column,
            )


# ------------------------------------------------------------------------------- running GX


def _describe(etype: str, result: Mapping[str, Any]) -> tuple[int | None, str]:
    """(unexpected count, human detail) from a result that holds counts only."""
    details = result.get("details") or {}
    if "violating_classes" in details:
        detail = (
            f"{details['violating_classes']} of {details['n_classes']} classes "
            f"({details['violating_records']} records) violate; "
            f"smallest class {details['min_class_size']}"
        )
        if details.get("achieved_l") is not None:
            detail += f"; achieved l {details['achieved_l']:.4g}"
        if details.get("achieved_t") is not None:
            detail += f"; achieved t {details['achieved_t']:.4g}"
        return int(details["violating_records"]), detail
    if "flagged_columns" in details:
        kinds = ", ".join(f"{k} {n}" for k, n in details["by_kind"].items())
        return (
            int(result.get("unexpected_count") or 0),
            f"{result.get('unexpected_count')} values look like direct identifiers ({kinds}) "
            f"in {details['rows_scanned']} scanned rows",
        )
    if "n_cells" in details:
        return (
            int(result.get("unexpected_count") or 0),
            f"{result.get('unexpected_count')} of {details['n_cells']} cells unsafe",
        )
    if "unexpected_count" in result and "element_count" in result:
        n = result.get("unexpected_count")
        return (None if n is None else int(n)), f"{n} of {result['element_count']} rows"
    mismatched = details.get("mismatched") if isinstance(details, Mapping) else None
    if mismatched:
        parts = [f"{k}: {sorted(map(str, v))}" for k, v in mismatched.items() if v]
        return None, "; ".join(parts) or "columns differ"
    observed = result.get("observed_value")
    if isinstance(observed, int | float) and not isinstance(observed, bool):
        return None, f"observed {observed}"
    return None, "failed"


def _failure_column(etype: str, kwargs: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    details = result.get("details") or {}
    if isinstance(details, Mapping) and details.get("flagged_columns"):
        return ",".join(details["flagged_columns"])
    for key in ("column", "sensitive", "count_column", "total_column"):
        if kwargs.get(key):
            return str(kwargs[key])
    if kwargs.get("qi"):
        return ",".join(map(str, kwargs["qi"]))
    return ""


def _raised(er: Any) -> bool:
    info = er.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, Mapping) and v.get("raised_exception") for v in info.values())


def _import_gx() -> Any:
    import great_expectations as gx

    import expectations.custom
    import expectations.privacy  # noqa: F401 - registers the privacy expectations

    return gx


class Validator:
    """One ephemeral GX context (and, optionally, one Data Docs site) for several validations.

    ``run_validation`` uses a fresh one per call; the release gate shares one across its
    datasets so a single Data Docs index lists them all.
    """

    def __init__(self, *, docs_dir: Path | None = None) -> None:
        self._gx = _import_gx()
        self.context = self._gx.get_context(mode="ephemeral")
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        # GX needs an absolute folder for its site (a relative one raised ValueError).
        self.docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None
        self._counter = itertools.count(1)
        # GX results of the latest run (counts only; for audits and tests)
        self.last_suite_result: Any = None
        self.last_results: list[Any] = []
        self._datasource = self.context.data_sources.add_pandas("anonrelease")
        for site in list(self.context.list_data_docs_sites()):
            self.context.delete_data_docs_site(site)  # GX's default temporary site: unused
        if self.docs_dir is not None:
            self.docs_dir.mkdir(parents=True, exist_ok=True)
            self.context.add_data_docs_site(
                "anonrelease",
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )

    @property
    def docs_index(self) -> Path | None:
        if self.docs_dir is None:
            return None
        index = self.docs_dir / "index.html"
        return index if index.exists() else None

    def _gx_results(
        self, df: pd.DataFrame, spec: SuiteSpec, *, label: str, result_format: dict, docs: bool
    ) -> list[Any]:
        """Validate through GX. With ``docs`` the results go through a checkpoint that stores
        them (in memory) and renders Data Docs; without, nothing is stored anywhere."""
        gx = self._gx
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        n = next(self._counter)
        name = f"{spec.name}.{label}.{n}" if label else f"{spec.name}.{n}"
        batch = self._datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
            name
        )
        suite = gx.ExpectationSuite(name=name)
        for entry in spec.expectations:
            config = ExpectationConfiguration(
                type=entry["type"], kwargs=entry["kwargs"], meta=entry["meta"]
            )
            try:
                suite.add_expectation_configuration(config)
                config.to_domain_obj()
            except Exception as exc:  # GX raises several types for a bad configuration
                raise SuiteConfigError(
                    spec.name,
                    f"invalid expectation configuration ({type(exc).__name__})",
                    expectation=entry["type"],
                ) from exc
        if not (docs and self.docs_dir is not None):
            from great_expectations.validator.v1_validator import Validator as GXValidator

            validator = GXValidator(
                batch_definition=batch,
                result_format=result_format,
                batch_parameters={"dataframe": df},
            )
            self.last_suite_result = validator.validate_expectation_suite(suite)
            self.last_results = list(self.last_suite_result.results)
            return self.last_results
        from great_expectations.checkpoint import UpdateDataDocsAction

        suite = self.context.suites.add(suite)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="docs", site_names=["anonrelease"])],
                result_format=result_format,
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": df})
        (self.last_suite_result,) = outcome.run_results.values()
        self.last_results = list(self.last_suite_result.results)
        return self.last_results

    def run(
        self,
        df: pd.DataFrame,
        /,
        *,
        suite: str | Path,
        parameters: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> ValidationOutcome:
        """Validate ``df`` against a suite; see :func:`run_validation`."""
        spec = load_suite(suite, parameters=parameters)
        check_columns(spec, df.columns)
        frame = df.reset_index(drop=True)
        results = self._gx_results(
            frame, spec, label=label, result_format=SAFE_RESULT_FORMAT, docs=True
        )
        failures = []
        for er in results:
            if er.success:
                continue
            etype = er.expectation_config.type
            kwargs = er.expectation_config.kwargs
            if _raised(er):
                failures.append(
                    Failure(etype, _failure_column(etype, kwargs, {}), None, "error while checking")
                )
                continue
            count, detail = _describe(etype, er.result or {})
            column = _failure_column(etype, kwargs, er.result)
            failures.append(Failure(etype, column, count, detail))
        context = dict(parameters or {})
        checked = 0
        for ref in spec.references:
            violations = _reference_violations(frame, ref, context, spec.name)
            if violations is None:
                continue  # optional reference without its key set
            checked += 1
            bad = int(violations.sum())
            if bad:
                failures.append(
                    Failure(
                        f"reference:{ref.context_key}",
                        ref.column,
                        bad,
                        f"{bad} of {len(frame)} rows",
                    )
                )
        evaluated = len(results) + checked
        failed = len(failures)
        statistics = {
            "rows": len(frame),
            "evaluated_expectations": evaluated,
            "successful_expectations": evaluated - failed,
            "unsuccessful_expectations": failed,
            "success_percent": 100.0 * (evaluated - failed) / evaluated if evaluated else None,
        }
        return ValidationOutcome(
            success=failed == 0,
            statistics=statistics,
            failures=tuple(failures),
            docs_index=self.docs_index,
            suite=spec.name,
        )

    def split(
        self,
        df: pd.DataFrame,
        /,
        *,
        suite: str | Path,
        table: str,
        context: Mapping[str, object] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Quarantine rows that break row-level rules; see :func:`split_valid_rows`."""
        spec = load_suite(suite, parameters=context)
        check_columns(spec, df.columns)
        frame = df.reset_index(drop=True)
        n = len(frame)
        reasons = pd.Series("", index=pd.RangeIndex(n), dtype=object)

        def add(mask: np.ndarray, text: str) -> None:
            nonlocal reasons
            reasons = reasons.mask(mask, reasons + text + "; ")

        # Run on empty tables too: a table-level rule (the column set) must hold for them.
        results = self._gx_results(
            frame, spec, label=table, result_format=_ROW_RESULT_FORMAT, docs=False
        )
        self.last_results, self.last_suite_result = [], None  # row positions stay here
        for er in results:
            if er.success:
                continue
            etype = er.expectation_config.type
            kwargs = er.expectation_config.kwargs
            if _raised(er):
                raise SuiteConfigError(
                    spec.name,
                    "the expectation raised an error on this table",
                    expectation=etype,
                    column=kwargs.get("column"),
                )
            positions = (er.result or {}).get("unexpected_index_list")
            if positions is None:
                # Fail closed: a table-level rule names no row, so no row may pass as clean.
                _, detail = _describe(etype, er.result or {})
                raise TableRuleFailed(table, spec.name, etype, detail)
            mask = np.zeros(n, dtype=bool)
            mask[np.asarray(positions, dtype=np.int64)] = True
            add(mask, f"{kwargs.get('column', '')}: {_reason(er)} ({etype})")
        for ref in spec.references:
            bad = _reference_violations(frame, ref, dict(context or {}), spec.name)
            if bad is not None:
                add(bad, f"{ref.column}: {ref.reason} (reference:{ref.context_key})")
        rejected_mask = (reasons != "").to_numpy(dtype=bool)
        clean = df[~rejected_mask]
        rejected = df[rejected_mask].copy()
        rejected[ROW_COLUMN] = np.flatnonzero(rejected_mask)
        rejected[REASON_COLUMN] = (
            reasons[rejected_mask].str.removesuffix("; ").astype("str").to_numpy()
        )
        return clean, rejected


def _reason(er: Any) -> str:
    meta = er.expectation_config.meta or {}
    return str(meta.get("reason") or _DEFAULT_REASONS.get(er.expectation_config.type, "failed"))


def _reference_violations(
    frame: pd.DataFrame, ref: Reference, context: Mapping[str, Any], suite: str
) -> np.ndarray | None:
    """Rows whose (extracted) value is not a key; ``None`` when an optional key set is absent."""
    if context.get(ref.context_key) is None:
        if not ref.required:
            return None
        raise SuiteConfigError(
            suite,
            f"context key {ref.context_key!r} (the valid keys) is not set",
            expectation=f"reference:{ref.context_key}",
            column=ref.column,
        )
    keys = np.asarray(context[ref.context_key])
    values = frame[ref.column]
    if ref.extract is not None:
        values = values.astype("string").str.extract(ref.extract, expand=False)
    present = values.notna().to_numpy(dtype=bool)
    if keys.dtype.kind in "iuf":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        known = np.isin(numbers, keys.astype("float64"))
    else:
        known = values.astype(str).isin(pd.Index(keys.astype(str))).to_numpy(dtype=bool)
    return present & ~known


def run_validation(
    df: pd.DataFrame,
    /,
    *,
    suite: str,
    parameters: Mapping[str, Any] | None = None,
    data_docs_dir: Path | None = None,
) -> ValidationOutcome:
    """Validate ``df`` against a shipped suite (or a suite file path).

    ``parameters`` fill the suite's placeholders (k, qi, min cell count, run date, key sets).
    With ``data_docs_dir`` GX's HTML Data Docs are built there; ``docs_index`` points to them.
    An empty frame validates (``statistics['rows'] == 0``); callers must not read that as safe
    data. A suite naming a column the data lacks raises :class:`SuiteConfigError`.
    """
    return Validator(docs_dir=data_docs_dir).run(df, suite=suite, parameters=parameters)


def split_valid_rows(
    df: pd.DataFrame,
    /,
    *,
    suite: str,
    table: str,
    context: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into (clean, rejected) by the suite's row-level rules.

    ``rejected`` keeps the original columns plus ``_row`` (0-based position in ``df``) and
    ``_reason`` (each broken rule as ``field: rule words (expectation)``, joined by ``; ``;
    never a value). Every input row is in exactly one of the two; ``context`` carries the
    suite's parameters and key sets (``{"run_date": date, "customer_ids": ndarray}``).

    A failed table-level rule (a missing or unexpected column) names no row, so no row can
    pass: :class:`TableRuleFailed` (a ``DataError``) names the table and the rule.
    """
    return Validator().split(df, suite=suite, table=table, context=context)
