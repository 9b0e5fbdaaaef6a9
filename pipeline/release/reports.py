"""Build one report of the catalogue: records -> cells with margins -> protected table.

The nightly ``build_tables`` step and the analysts' ``anonrelease report`` (and its DAG) call
``build_report`` with the same arguments for the same request, so they write the same bytes.
Only de-identified data goes in (the ``deidentified`` zone: pseudonyms, no names or contacts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from pipeline.release.report_gate import dimension_trees
from pipeline.settings.report_specs import (
    WINDOW_DATES,
    CellKeyMethod,
    DPMethod,
    ReportSpec,
    SuppressMethod,
)
from pipeline.sources.report_dimensions import table_dimensions
from transforms.cellkey import record_keys_fixed
from transforms.report_records import contribution_records, month_window, quarter_window
from transforms.report_tables import UNIT, CellMeasure, build_cells
from transforms.table_protection import ProtectedTable
from transforms.table_structure import TableDimension

QUARANTINE_COLUMNS = (UNIT, "reason")


@dataclass(frozen=True)
class BuiltReport:
    """A protected table with how it was built (for the summary, the gate and the manifest)."""

    spec: ReportSpec
    dims: tuple[TableDimension, ...]
    table: ProtectedTable
    quarantined: pd.DataFrame  # pseudonym, reason: records with a value outside a domain
    records_in: int
    window: tuple[date, date] | None

    def summary(self) -> dict[str, Any]:
        window = (
            {"from": self.window[0].isoformat(), "to": self.window[1].isoformat()}
            if self.window
            else None
        )
        return {
            "table": self.spec.name,
            "title": self.spec.title.model_dump(),
            "window": window,
            "records": self.records_in,
            "records_quarantined": len(self.quarantined),
            "measure": self.spec.measure.kind,
            "dimensions": dimension_trees(self.dims),
            **self.table.summary,
        }


def summary_bytes(summary: Mapping[str, Any]) -> bytes:
    """The per-table JSON summary file (sorted keys, UTF-8, Japanese kept)."""
    text = json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return text.encode("utf-8")


def report_window(spec: ReportSpec, run_date: date) -> tuple[date, date] | None:
    if spec.window is None:
        return None
    if spec.window.quarters is not None:
        return quarter_window(run_date, spec.window.quarters)
    return month_window(run_date, int(spec.window.months or 0))


def build_report(
    spec: ReportSpec,
    *,
    frames: Mapping[str, pd.DataFrame],
    store_areas: Mapping[int, str],
    run_date: date,
    method: SuppressMethod | CellKeyMethod | DPMethod,
    min_contributors: int,
    window: tuple[date, date] | None = None,
    protect: Any,
    cellkey_secret: bytes | None = None,
) -> BuiltReport:
    """Build ``spec`` over ``frames`` and protect it with ``method`` (see ``protect_cells``).

    ``window`` overrides the spec's window (an analyst's --from/--to); records whose value
    falls outside a dimension's domain are quarantined with the reason, never dropped.
    """
    if window is None:
        window = report_window(spec, run_date)
    if WINDOW_DATES[spec.source] is None:
        window = None
    records = contribution_records(
        spec.source,
        frames=frames,
        window=window,
        run_date=run_date,
        store_areas=store_areas,
        filters=spec.filters,
    )
    dims, labelled = table_dimensions(spec, records, window=window)
    bad = (labelled["reason"] != "").to_numpy()
    quarantined = labelled.loc[bad, list(QUARANTINE_COLUMNS)].reset_index(drop=True)
    measure = CellMeasure(spec.measure.kind, spec.measure.column)
    used = labelled[~bad].reset_index(drop=True)
    unit_keys = None
    if isinstance(method, CellKeyMethod):
        if cellkey_secret is None:
            raise ValueError("the cell key method needs the record-key secret")
        units = pd.Series(sorted(used[UNIT].unique()), dtype="string")
        fixed = record_keys_fixed(units, key=cellkey_secret)
        unit_keys = dict(zip(units, fixed.tolist(), strict=True))
    cells = build_cells(used, dims, measure=measure, margins=spec.margins, unit_keys=unit_keys)
    table = protect(
        cells,
        dims,
        spec=spec,
        method=method,
        min_contributors=min_contributors,
    )
    return BuiltReport(
        spec=spec,
        dims=tuple(dims),
        table=table,
        quarantined=quarantined,
        records_in=len(records),
        window=window,
    )
