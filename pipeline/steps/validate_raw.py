"""validate_raw: per table, scope, raw suite (row-level), then typed parsing.

Every rejected row lands in the quarantine file with its reasons; rows dated after the run
date are out of scope for that night. in = clean + quarantined + out_of_scope always holds.
A row with text that was not valid UTF-8 at the source (extract names its fields) is
quarantined as ``field: not valid UTF-8 text`` (before any other reason the suites give).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.run.context import RunContext
from pipeline.run.step_reports import TableCounts, ValidateRawReport
from pipeline.sources.hierarchies import shipped_hierarchies
from pipeline.sources.schema import (
    CUSTOMER_OWNED,
    RAW_SUITES,
    SCOPE_DATES,
    SOURCE_TABLES,
    SUITE_VOCABULARIES,
)
from pipeline.steps.zone_io import finish, read
from transforms.errors import DataError, InternalError
from transforms.parse import (
    REASON_COLUMN,
    ROW_COLUMN,
    UNDECODABLE_COLUMN,
    dated_after,
    parse_columns,
    parse_integers,
    undecodable_reasons,
)


class QuarantineThresholdExceeded(DataError):
    """Too much of a table was rejected: the source is broken, not a few rows."""

    def __init__(self, table: str, rejected: int, total: int, threshold: float) -> None:
        super().__init__(
            f"{table}: {rejected} of {total} rows quarantined, above the threshold "
            f"{threshold:.1%}; fix the source or raise quarantine_threshold"
        )
        self.table, self.rejected, self.total, self.threshold = table, rejected, total, threshold


class CountsDoNotReconcile(InternalError):
    """A table's rows in differ from clean + quarantined + out of scope: a bug, never data."""

    def __init__(self, table: str, counts: Mapping[str, int]) -> None:
        super().__init__(f"{table}: counts do not reconcile: {dict(counts)}")
        self.table, self.counts = table, dict(counts)


class UnreadableRequestError(DataError):
    """A quarantined request or consent row has no readable customer id: we cannot tell whom
    to exclude, so nothing may be released (found here, before anything is derived)."""

    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"{table}: {rows} quarantined row(s) without a readable customer_id")
        self.table, self.rows = table, rows


# Tables whose quarantined rows exclude their customer (fail closed): the id must be readable.
EXCLUDING_TABLES = ("customer_requests", "consents")


def quarantined_customer_ids(ctx: RunContext, table: str) -> pd.Series:
    """The customer ids of a table's quarantined rows; :class:`UnreadableRequestError` if any
    is not an integer (an id of "1.5" must not exclude customer 1 and keep the real one)."""
    ids = parse_integers(read(ctx, "quarantine", table)["customer_id"])
    if ids.isna().any():
        raise UnreadableRequestError(table, int(ids.isna().sum()))
    return ids


def _suite_rejects(
    raw: pd.DataFrame, *, suite: str | None, table: str, context: Mapping[str, object]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if suite is None:
        empty = raw.iloc[0:0].assign(**{ROW_COLUMN: pd.Series(dtype="int64")})
        return raw, empty.assign(**{REASON_COLUMN: pd.Series(dtype="string")})
    from expectations import split_valid_rows

    split: tuple[pd.DataFrame, pd.DataFrame] = split_valid_rows(
        raw, suite=suite, table=table, context=context
    )
    return split


def validate_table(
    ctx: RunContext,
    table: str,
    *,
    suite: str | None,
    context: Mapping[str, object],
    scope_column: str | None = None,
    out_of_scope_customers: frozenset[str] = frozenset(),
) -> tuple[dict[str, int], pd.DataFrame]:
    """Validate, parse and split one raw snapshot; returns counts and the clean typed rows.

    Rows dated after the run date (``scope_column``) and rows of customers who are out of
    scope are not validated: they do not belong to this night.
    """
    raw = pd.read_parquet(ctx.run_dir / "raw" / f"{table}.parquet")
    undecodable = undecodable_reasons(raw.pop(UNDECODABLE_COLUMN))
    later = np.zeros(len(raw), dtype=bool)
    if scope_column is not None:
        later |= dated_after(raw[scope_column], ctx.run_date).to_numpy()
    if out_of_scope_customers:
        later |= raw["customer_id"].isin(out_of_scope_customers).to_numpy()
    in_scope = np.flatnonzero(~later)
    scoped = raw.iloc[in_scope].reset_index(drop=True)
    suite_clean, suite_rejected = _suite_rejects(scoped, suite=suite, table=table, context=context)
    # Positions in each later frame map back to positions in the raw snapshot.
    suite_rejected[ROW_COLUMN] = in_scope[suite_rejected[ROW_COLUMN].to_numpy()]
    kept_rows = np.setdiff1d(in_scope, suite_rejected[ROW_COLUMN].to_numpy())
    # Text that was not valid UTF-8 at the source rejects its row, the fields named first.
    # (The suites saw these rows too: a duplicate id is a duplicate, whatever else is wrong.)
    text = undecodable.to_numpy(dtype=object)
    also = text[suite_rejected[ROW_COLUMN].to_numpy()]
    suite_rejected[REASON_COLUMN] = np.where(
        also != "",
        also + "; " + suite_rejected[REASON_COLUMN].to_numpy(dtype=object),
        suite_rejected[REASON_COLUMN].to_numpy(dtype=object),
    )
    bad_text = text[kept_rows] != ""
    encoding_rejected = suite_clean[bad_text].copy()
    encoding_rejected[ROW_COLUMN] = kept_rows[bad_text]
    encoding_rejected[REASON_COLUMN] = text[kept_rows[bad_text]]
    suite_clean, kept_rows = suite_clean[~bad_text], kept_rows[~bad_text]
    typed, parse_rejected = parse_columns(
        suite_clean.reset_index(drop=True), schema=SOURCE_TABLES[table]
    )
    parse_rejected[ROW_COLUMN] = kept_rows[parse_rejected[ROW_COLUMN].to_numpy()]
    quarantined = (
        pd.concat([suite_rejected, encoding_rejected, parse_rejected], ignore_index=True)
        .sort_values(ROW_COLUMN, kind="stable")
        .reset_index(drop=True)
    )
    typed.to_parquet(ctx.zone("clean") / f"{table}.parquet", index=False)
    quarantined.to_parquet(ctx.zone("quarantine") / f"{table}.parquet", index=False)
    counts = {
        "in": len(raw),
        "clean": len(typed),
        "quarantined": len(quarantined),
        "out_of_scope": len(raw) - len(in_scope),
    }
    if counts["in"] != counts["clean"] + counts["quarantined"] + counts["out_of_scope"]:
        raise CountsDoNotReconcile(table, counts)
    return counts, typed


def validate_raw(ctx: RunContext) -> ValidateRawReport:
    """Quarantine rows that break the raw suites or do not parse.

    Per table: in = clean + quarantined + out_of_scope (dated after the run date). Stores and
    customers come first: a visit must name a clean store and a clean customer. Amounts and
    scores must lie within the config's plausibility bounds.
    """
    prefixes = np.asarray(sorted(shipped_hierarchies(("postal_code",))["postal_code"].leaves))
    # Rows of customers who registered after the run date are out of scope with them.
    raw_customers = read(ctx, "raw", "customers").drop(columns=UNDECODABLE_COLUMN)
    later = dated_after(raw_customers["registered_on"], ctx.run_date)
    later_customers = frozenset(raw_customers.loc[later, "customer_id"].dropna())
    tables: dict[str, dict[str, int]] = {}
    customer_ids = store_ids = None
    # Referenced tables first: their clean keys are what the other tables may refer to.
    first = ("stores", "customers")
    for table in (*first, *[t for t in SOURCE_TABLES if t not in first]):
        context: dict[str, object] = {
            "run_date": ctx.run_date,
            **SUITE_VOCABULARIES,
            **ctx.config.plausibility.suite_parameters(),
            "store_ids": store_ids,
        }
        if table == "customers":
            context["postal_prefixes"] = prefixes
        if table in CUSTOMER_OWNED:
            context["customer_ids"] = customer_ids
        counts, clean = validate_table(
            ctx,
            table,
            suite=RAW_SUITES.get(table),
            context=context,
            scope_column=SCOPE_DATES.get(table),
            out_of_scope_customers=later_customers if table in CUSTOMER_OWNED else frozenset(),
        )
        if table == "stores":
            store_ids = clean["store_id"].to_numpy(dtype="int64")
        if table == "customers":
            customer_ids = clean["customer_id"].to_numpy()
        tables[table] = counts
    report = ValidateRawReport(tables={t: TableCounts.model_validate(c) for t, c in tables.items()})
    threshold = ctx.config.quarantine_threshold
    for table, c in tables.items():
        if c["in"] and c["quarantined"] / c["in"] > threshold:
            ctx.write_report(report)
            raise QuarantineThresholdExceeded(table, c["quarantined"], c["in"], threshold)
    for table in EXCLUDING_TABLES:
        try:
            quarantined_customer_ids(ctx, table)
        except UnreadableRequestError:
            ctx.write_report(report)
            raise
    return finish(ctx, report)
