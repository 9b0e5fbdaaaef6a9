"""The protection methods of report tables, as the catalogue's specs choose them.

- ``suppress``: primary suppression (fewer than n contributors; for magnitudes dominance (n, k)
  and the p % rule), then secondary suppression so that no primary cell can be recomputed or
  narrowed below its protection interval from the published cells and margins.
- ``cellkey``: every cell perturbed through the shipped p-table by its cell key (the sum of
  its customers' permanent record keys), margins as cells of their own.
- ``dp``: OpenDP noise on the interior cells, margins summed from them, epsilon spent from a
  persistent budget ledger per recipient and window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.settings.paths import DATA_DIR
from pipeline.settings.report_specs import CellKeyMethod, DPMethod, ReportSpec, SuppressMethod
from pipeline.sources.ptables import load_ptable
from transforms.cellkey import cell_keys, perturb
from transforms.errors import ConfigurationError
from transforms.primary_suppression import (
    PrimarySuppression,
    combine,
    dominance_rule,
    p_percent_rule,
    threshold_rule,
)
from transforms.secondary_suppression import protect
from transforms.table_protection import (
    PERTURBED,
    PRIMARY,
    SECONDARY,
    ProtectedTable,
    additive_column,
    finish_table,
    published_values,
)
from transforms.table_structure import TableDimension

PTABLE_DIR = DATA_DIR / "ptables"


class MethodUnavailableError(ConfigurationError):
    """A protection method this installation cannot apply to the table (named)."""


def primary_rules(
    cells: pd.DataFrame, method: SuppressMethod, n: int, *, magnitude: bool, audited: str
) -> PrimarySuppression:
    """The sensitive cells and their protection levels (in units of the audited column).

    Threshold: 0 < contributors < n. In a count table the interval must span n; in a
    magnitude table the p % (10 % by default) of the cell's value, at least 1 yen.
    Dominance (n, k) and the p % rule bring their own levels.
    """
    rules = [threshold_rule(cells, n=n)]
    if magnitude:
        share = (method.p_percent or 10.0) / 100
        values = cells[audited].to_numpy(dtype=np.float64)
        level = np.where(rules[0].sensitive, np.maximum(share * values, 1.0), 0.0)
        rules = [PrimarySuppression("threshold", rules[0].sensitive, level)]
        if method.dominance_n is not None and method.dominance_k is not None:
            rules.append(
                dominance_rule(
                    cells, n=method.dominance_n, k=method.dominance_k, top=("top1", "top2")
                )
            )
        if method.p_percent is not None:
            rules.append(p_percent_rule(cells, p=method.p_percent))
    return combine(*rules)


def protect_suppress(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    spec: ReportSpec,
    method: SuppressMethod,
    min_contributors: int,
) -> ProtectedTable:
    """Primary rules, then secondary suppression on the additive column (HiGHS)."""
    n = max(method.min_contributors, min_contributors)
    audited = additive_column(spec.measure.kind)
    magnitude = spec.measure.kind == "sum"
    rules = primary_rules(cells, method, n, magnitude=magnitude, audited=audited)
    primary = rules.sensitive
    suppressed = protect(
        cells,
        dims,
        value=audited,
        primary=primary,
        protection=rules.protection,
        singleton=cells["contributors"].to_numpy() == 1,
    )
    flags = np.where(primary, PRIMARY, np.where(suppressed, SECONDARY, ""))
    values = published_values(cells, spec.measure.kind, ~suppressed)
    parameters: dict[str, Any] = {
        "method": "suppress",
        "min_contributors": n,
        "dominance": [method.dominance_n, method.dominance_k] if method.dominance_n else None,
        "p_percent": method.p_percent,
        "audited_column": audited,
    }
    table = finish_table(
        cells, dims, kind=spec.measure.kind, flags=flags, values=values, method=parameters
    )
    table.internal["protection"] = rules.protection
    return table


def protect_cellkey(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    spec: ReportSpec,
    method: CellKeyMethod,
) -> ProtectedTable:
    """Every cell perturbed by the p-table at its cell key; zeros stay zero."""
    ptable = load_ptable(PTABLE_DIR / method.ptable)
    counts = np.round(cells["value"].to_numpy(dtype=np.float64)).astype(np.int64)
    keys = cell_keys(cells["key_sum"].to_numpy(dtype=np.uint64))
    shown = perturb(counts, keys, ptable)
    flags = np.where(counts > 0, PERTURBED, "")
    values = pd.Series(shown, dtype="Int64")
    parameters: dict[str, Any] = {
        "method": "cellkey",
        "ptable": method.ptable,
        "D": ptable.D,
        "V": ptable.V,
        "js": ptable.js,
    }
    table = finish_table(
        cells, dims, kind=spec.measure.kind, flags=flags, values=values, method=parameters
    )
    table.internal.drop(columns="key_sum", inplace=True)
    return table


def protect_cells(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    spec: ReportSpec,
    method: SuppressMethod | CellKeyMethod | DPMethod,
    min_contributors: int,
    records: pd.DataFrame,
) -> ProtectedTable:
    """Protect ``cells`` with ``method`` (see the module doc)."""
    if isinstance(method, SuppressMethod):
        return protect_suppress(
            cells, dims, spec=spec, method=method, min_contributors=min_contributors
        )
    if isinstance(method, CellKeyMethod):
        return protect_cellkey(cells, dims, spec=spec, method=method)
    raise MethodUnavailableError(f"{spec.name}: method {method.method} is not available yet")
