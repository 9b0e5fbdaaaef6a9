"""What the release gate proves about a report table before anyone receives it.

1. The GX ``released_tables`` suite on the table's *gate view* (internal, never released):
   per cell the contributors (null where suppressed), and for magnitudes the total and the
   two largest contributions (null where suppressed), so GX proves that no published cell
   has 1..n-1 contributors and none fails dominance or the p % rule; for the cell key
   method, that no published value lies in 1..js; the identifier scan on every column.
2. The released file is exactly the protected table (same cells, same values, same flags).
3. Per method: ``suppress`` runs the independent LP audit (``transforms.suppression_audit``):
   every suppressed cell's feasible interval given the published cells and margins must be at
   least its protection level; ``cellkey``: a zero stays zero and no value is negative.

A problem names the table and the rule, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.table_structure import TableDimension


@dataclass(frozen=True)
class ReportCheck:
    """How a report table was protected (from the build step's report)."""

    internal: Path | None  # the internal copy (None when the caller holds the frame)
    dimensions: tuple[TableDimension, ...]
    method: str
    kind: str
    min_contributors: int = 0
    js: int | None = None
    dominance_n: int | None = None
    dominance_k: float | None = None
    p_percent: float | None = None
    audited_column: str = "value"

    @classmethod
    def from_summary(cls, internal: Path | None, summary: Mapping[str, Any]) -> ReportCheck:
        dims = tuple(
            TableDimension(name, {code: parent for code, parent in pairs})
            for name, pairs in summary["dimensions"]
        )
        dominance = summary.get("dominance") or [None, None]
        return cls(
            internal=internal,
            dimensions=dims,
            method=str(summary["method"]),
            kind=str(summary["measure"]),
            min_contributors=int(summary.get("min_contributors") or 0),
            js=summary.get("js"),
            dominance_n=dominance[0],
            dominance_k=dominance[1],
            p_percent=summary.get("p_percent"),
            audited_column=str(summary.get("audited_column", "value")),
        )


def read_internal(check: ReportCheck) -> pd.DataFrame:
    """The internal copy the check was built for."""
    if check.internal is None:
        raise ValueError("this report check has no internal copy to read")
    return pd.read_parquet(check.internal)


def _suppressed(internal: pd.DataFrame) -> np.ndarray:
    return np.asarray(internal["flag"].astype(str).str.startswith("suppressed"), dtype=bool)


def gate_view(internal: pd.DataFrame, check: ReportCheck) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame and ``released_tables`` parameters GX checks (see the module doc)."""
    names = [d.name for d in check.dimensions]
    view = internal[names].copy()
    hidden = _suppressed(internal)
    params: dict[str, Any] = {"count_column": "count"}
    if check.method == "suppress":
        view["count"] = pd.Series(internal["contributors"].to_numpy(), dtype="Int64").mask(hidden)
        params["min_cell_count"] = check.min_contributors
        if check.dominance_n is not None or check.p_percent is not None:
            view["total"] = internal["value"].mask(hidden)
            view["top1"], view["top2"] = internal["top1"], internal["top2"]
            params |= {
                "total_column": "total",
                "dominance_n": check.dominance_n or 1,
                "dominance_k": check.dominance_k or 100,
                "p_percent": check.p_percent or 0.0,
            }
    elif check.method == "cellkey":
        view["count"] = pd.Series(internal["published"].to_numpy(), dtype="Int64")
        params["min_cell_count"] = int(check.js or 0) + 1
    else:
        view["count"] = pd.Series(internal["published"].to_numpy(), dtype="Int64")
        params["min_cell_count"] = 1
    return view, params


def _same_release(released: pd.DataFrame, internal: pd.DataFrame, check: ReportCheck) -> bool:
    names = [d.name for d in check.dimensions]
    if list(released.columns[: len(names)]) != names or len(released) != len(internal):
        return False
    same_cells = all(
        (released[n].astype(str).to_numpy() == internal[n].astype(str).to_numpy()).all()
        for n in names
    )
    value = pd.to_numeric(released["value"], errors="coerce").to_numpy(dtype=np.float64)
    truth = pd.to_numeric(internal["published"], errors="coerce").to_numpy(dtype=np.float64)
    same_values = bool(np.array_equal(value, truth, equal_nan=True))
    flags = released["flag"].fillna("").astype(str).to_numpy()
    same_flags = bool((flags == internal["flag"].astype(str).to_numpy()).all())
    return same_cells and same_values and same_flags


def report_problems(
    name: str, released: pd.DataFrame, internal: pd.DataFrame, check: ReportCheck
) -> list[str]:
    """Rules 2 and 3 of the module doc; an empty list when the table may go out."""
    problems: list[str] = []
    if not _same_release(released, internal, check):
        problems.append(f"{name}: the file differs from the protected table (cells or values)")
        return problems
    if check.method == "suppress":
        problems += _audit(name, internal, check)
    elif check.method == "cellkey":
        truth = internal["value"].to_numpy(dtype=np.float64)
        shown = pd.to_numeric(internal["published"]).to_numpy(dtype=np.float64)
        if ((truth == 0) & (shown != 0)).any():
            problems.append(f"{name}: cellkey: a zero cell was published as non-zero")
        if (shown < 0).any():
            problems.append(f"{name}: cellkey: a negative value")
    return problems


def _audit(name: str, internal: pd.DataFrame, check: ReportCheck) -> list[str]:
    """The LP audit of the suppression pattern (fails closed)."""
    from transforms.suppression_audit import audit

    hidden = _suppressed(internal)
    if not hidden.any():
        return []
    protection = np.where(
        internal["flag"].astype(str).to_numpy() == "suppressed-primary",
        internal["protection"].to_numpy(dtype=np.float64),
        0.0,
    )
    result = audit(
        internal,
        list(check.dimensions),
        value=check.audited_column,
        suppressed=hidden,
        protection=protection,
    )
    if result.passed:
        return []
    return [
        f"{name}: secondary-suppression audit ({', '.join(result.failed_rules)}): "
        f"{len(result.failing)} suppressed cell(s) narrower than their protection interval"
    ]


def dimension_trees(
    dims: Sequence[TableDimension],
) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The dimensions as JSON lists, in order (reports are written with sorted keys; the gate
    rebuilds the code trees, and with them the canonical row order, from this)."""
    return [(d.name, list(d.parents.items())) for d in dims]
