"""validate_raw for one table: raw suite (row-level), then typed parsing; every rejected row
lands in the quarantine file with its reasons, and in = clean + quarantined always holds."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.run_context import RunContext
from pipeline.source_schema import SOURCE_TABLES
from transforms.parse import REASON_COLUMN, ROW_COLUMN, parse_columns


def _suite_rejects(
    raw: pd.DataFrame, *, suite: str | None, table: str, context: Mapping[str, object]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if suite is None:
        empty = raw.iloc[0:0].assign(**{ROW_COLUMN: pd.Series(dtype="int64")})
        return raw, empty.assign(**{REASON_COLUMN: pd.Series(dtype="string")})
    from expectations import split_valid_rows

    return split_valid_rows(raw, suite=suite, table=table, context=context)


def validate_table(
    ctx: RunContext, table: str, *, suite: str | None, context: Mapping[str, object]
) -> tuple[dict[str, int], pd.DataFrame]:
    """Validate, parse and split one raw snapshot; returns counts and the clean typed rows."""
    raw = pd.read_parquet(ctx.run_dir / "raw" / f"{table}.parquet")
    suite_clean, suite_rejected = _suite_rejects(raw, suite=suite, table=table, context=context)
    # Positions in the suite's clean frame map back to positions in the raw snapshot.
    kept_rows = np.setdiff1d(np.arange(len(raw)), suite_rejected[ROW_COLUMN].to_numpy())
    typed, parse_rejected = parse_columns(
        suite_clean.reset_index(drop=True), schema=SOURCE_TABLES[table]
    )
    parse_rejected[ROW_COLUMN] = kept_rows[parse_rejected[ROW_COLUMN].to_numpy()]
    quarantined = (
        pd.concat([suite_rejected, parse_rejected], ignore_index=True)
        .sort_values(ROW_COLUMN, kind="stable")
        .reset_index(drop=True)
    )
    typed.to_parquet(ctx.zone("clean") / f"{table}.parquet", index=False)
    quarantined.to_parquet(ctx.zone("quarantine") / f"{table}.parquet", index=False)
    counts = {"in": len(raw), "clean": len(typed), "quarantined": len(quarantined)}
    if counts["in"] != counts["clean"] + counts["quarantined"]:
        raise AssertionError(f"{table}: counts do not reconcile: {counts}")
    return counts, typed
