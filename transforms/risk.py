"""Re-identification risk of a table, with ARX's definitions, before and after release.

Prosecutor model: the attacker knows the target is in the table; record risk is
``1 / |class|``. Journalist model: the attacker links against a population table;
record risk is ``1 / |population class|``. Marketer model: the expected share of
records re-identified when the attacker tries everyone: ``n_classes / N`` in the
prosecutor scenario and ``(1 / N) * sum(f_j / F_j)`` against a population.

Reports hold counts, shares and column names only, never a row value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from transforms.utility import UnknownColumnError, class_ids

__all__ = [
    "RiskReport",
    "reidentification_risk",
    "risk_before_after",
]

JOURNALIST_WITHOUT_POPULATION = (
    "no population table given: journalist risk equals prosecutor risk, an upper bound"
)


@dataclass(frozen=True, slots=True)
class RiskReport:
    """Re-identification risk summary of one table (ARX definitions)."""

    n_records: int
    n_classes: int
    threshold: float
    prosecutor_highest: float
    prosecutor_average: float
    prosecutor_records_at_risk: float
    journalist_highest: float
    journalist_average: float
    journalist_records_at_risk: float
    journalist_basis: str
    marketer: float
    sample_uniques: int
    sample_uniques_share: float
    min_class_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _class_sizes(df: pd.DataFrame, qi: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    ids = class_ids(df, qi=qi)
    sizes = np.bincount(ids) if len(ids) else np.zeros(0, dtype=np.int64)
    return ids, sizes


def _population_sizes(
    sample: pd.DataFrame, population: pd.DataFrame, qi: Sequence[str]
) -> np.ndarray:
    """Population class size of every sample record (at least its sample class size)."""
    if not qi:
        return np.full(len(sample), len(population), dtype=np.int64)
    both = pd.concat(
        [sample[list(qi)].reset_index(drop=True), population[list(qi)].reset_index(drop=True)],
        ignore_index=True,
    )
    ids = class_ids(both, qi=qi)
    n = len(sample)
    pop_counts = np.bincount(ids[n:], minlength=int(ids.max()) + 1 if len(ids) else 0)
    return np.asarray(pop_counts[ids[:n]])


def reidentification_risk(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    population: pd.DataFrame | None = None,
    threshold: float = 0.2,
) -> RiskReport:
    """Prosecutor, journalist and marketer risk of ``df`` on the quasi-identifiers ``qi``.

    ``threshold`` is the record risk above which a record counts as at risk (ARX's
    "records at risk" uses a strict ``>``). Without ``population`` the journalist figures
    equal the prosecutor ones and the report says so in ``journalist_basis``. With one,
    every sample record must be matched in the population on the same (generalized) QI
    values; a population class smaller than the sample class is raised to the sample
    class size, as the sample is part of the population.
    """
    missing = [c for c in qi if c not in df.columns]
    if population is not None:
        missing += [c for c in qi if c not in population.columns]
    if missing:
        raise UnknownColumnError(missing)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    n = len(df)
    if n == 0:
        return RiskReport(
            n_records=0,
            n_classes=0,
            threshold=threshold,
            prosecutor_highest=0.0,
            prosecutor_average=0.0,
            prosecutor_records_at_risk=0.0,
            journalist_highest=0.0,
            journalist_average=0.0,
            journalist_records_at_risk=0.0,
            journalist_basis=JOURNALIST_WITHOUT_POPULATION if population is None else "population",
            marketer=0.0,
            sample_uniques=0,
            sample_uniques_share=0.0,
            min_class_size=0,
        )
    ids, sizes = _class_sizes(df, qi)
    record_size = sizes[ids]
    prosecutor = 1.0 / record_size
    n_classes = len(sizes)
    uniques = int(np.count_nonzero(sizes == 1))
    if population is None:
        journalist = prosecutor
        basis = JOURNALIST_WITHOUT_POPULATION
        marketer = n_classes / n
    else:
        pop = np.maximum(_population_sizes(df, population, qi), record_size)
        journalist = 1.0 / pop
        basis = "population"
        # (1/N) * sum over classes f_j / F_j == mean over records of 1 / F
        marketer = float(journalist.mean())
    return RiskReport(
        n_records=n,
        n_classes=n_classes,
        threshold=threshold,
        prosecutor_highest=float(prosecutor.max()),
        prosecutor_average=float(prosecutor.mean()),
        prosecutor_records_at_risk=float(np.count_nonzero(prosecutor > threshold) / n),
        journalist_highest=float(journalist.max()),
        journalist_average=float(journalist.mean()),
        journalist_records_at_risk=float(np.count_nonzero(journalist > threshold) / n),
        journalist_basis=basis,
        marketer=float(marketer),
        sample_uniques=uniques,
        sample_uniques_share=uniques / n,
        min_class_size=int(sizes.min()),
    )


def risk_before_after(
    original: pd.DataFrame,
    anonymized: pd.DataFrame,
    qi: Sequence[str],
    suppressed_mask: np.ndarray | pd.Series | None = None,
    *,
    threshold: float = 0.2,
) -> dict[str, Any]:
    """Risk of the input and of the release, JSON-ready (plain dicts, floats, ints, str).

    ``suppressed_mask`` (aligned with ``anonymized``) marks records withheld from the
    release; they are left out of the "after" figures and counted in ``n_suppressed``.
    """
    qi = list(qi)
    kept = anonymized
    n_suppressed = 0
    if suppressed_mask is not None:
        mask = np.asarray(suppressed_mask, dtype=bool)
        if len(mask) != len(anonymized):
            raise ValueError(
                f"suppressed_mask has {len(mask)} entries, anonymized {len(anonymized)} rows"
            )
        n_suppressed = int(mask.sum())
        kept = anonymized.loc[~mask]
    before = reidentification_risk(original, qi=qi, threshold=threshold)
    after = reidentification_risk(kept, qi=qi, threshold=threshold)
    return {
        "qi": qi,
        "threshold": threshold,
        "n_suppressed": n_suppressed,
        "before": before.to_dict(),
        "after": after.to_dict(),
    }
