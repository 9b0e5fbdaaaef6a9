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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.release.budget_ledger import (
    BudgetLedger,
    frame_sha256,
    noisy_release,
    release_id,
)
from pipeline.settings.paths import DATA_DIR
from pipeline.settings.report_specs import (
    CUSTOMER_ATTRIBUTES,
    CellKeyMethod,
    DPMethod,
    ReportSpec,
    SuppressMethod,
)
from pipeline.sources.ptables import load_ptable
from transforms.cellkey import cell_keys, perturb
from transforms.dp_noise import ContributionBound, noisy_cells
from transforms.errors import ConfigurationError
from transforms.primary_suppression import (
    PrimarySuppression,
    combine,
    dominance_rule,
    p_percent_rule,
    threshold_rule,
)
from transforms.report_tables import TOP
from transforms.secondary_suppression import protect
from transforms.table_protection import (
    NOISY,
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
            rules.append(dominance_rule(cells, n=method.dominance_n, k=method.dominance_k, top=TOP))
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


@dataclass(frozen=True)
class DPContext:
    """Where a DP table spends its epsilon: the recipient's budget in a window (a year)."""

    ledger: BudgetLedger
    recipient: str
    window: str


def protect_dp(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    spec: ReportSpec,
    method: DPMethod,
    dp: DPContext | None,
) -> ProtectedTable:
    """OpenDP noise on the interior, margins summed from it, epsilon spent from the ledger.

    The noise is drawn once per release id (recipient, spec, budget window, the true table's
    content, epsilon, mechanism): the same request returns the stored values without spending
    again, so a rerun writes the same bytes and an analyst cannot average fresh draws.
    """
    if dp is None:
        raise MethodUnavailableError(f"{spec.name}: dp needs a budget ledger and a recipient")
    if spec.measure.kind != "customers" or any(
        d.attribute not in CUSTOMER_ATTRIBUTES for d in spec.dimensions
    ):
        raise MethodUnavailableError(
            f"{spec.name}: dp is bounded for distinct customers by customer attributes only"
        )
    names = [d.name for d in dims]
    rid = release_id(
        recipient=dp.recipient,
        spec=spec.name,
        window=dp.window,
        table_sha256=frame_sha256(cells[[*names, "value"]]),
        epsilon=method.epsilon,
        mechanism=method.mechanism,
        delta=method.delta,
    )
    noisy = noisy_release(
        dp.ledger,
        release_id=rid,
        recipient=dp.recipient,
        window=dp.window,
        epsilon=method.epsilon,
        delta=method.delta,
        draw=lambda: noisy_cells(
            cells,
            dims,
            epsilon=method.epsilon,
            mechanism=method.mechanism,
            bound=ContributionBound(cells=1, per_cell=1),
            delta=method.delta,
        ),
    )
    flags = np.full(len(cells), NOISY, dtype=object)
    parameters: dict[str, Any] = {
        "method": "dp",
        "epsilon": method.epsilon,
        "mechanism": method.mechanism,
        "delta": method.delta,
        "budget_window": dp.window,
        # as of this release, not of now: a rerun after later spends writes the same bytes
        "budget_remaining": round(dp.ledger.remaining_after(dp.recipient, dp.window, rid), 6),
    }
    return finish_table(
        cells,
        dims,
        kind=spec.measure.kind,
        flags=flags,
        values=pd.Series(noisy, dtype="Int64"),
        method=parameters,
    )


def protect_cells(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    spec: ReportSpec,
    method: SuppressMethod | CellKeyMethod | DPMethod,
    min_contributors: int,
    dp: DPContext | None = None,
) -> ProtectedTable:
    """Protect ``cells`` with ``method`` (see the module doc); ``dp`` for the dp method."""
    if isinstance(method, SuppressMethod):
        return protect_suppress(
            cells, dims, spec=spec, method=method, min_contributors=min_contributors
        )
    if isinstance(method, CellKeyMethod):
        return protect_cellkey(cells, dims, spec=spec, method=method)
    return protect_dp(cells, dims, spec=spec, method=method, dp=dp)
