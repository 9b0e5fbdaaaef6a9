"""Public entry of the anonymization engine: optimal full-domain generalization + suppression.

``anonymize`` returns the input with every quasi-identifier generalized to the optimal level
(see ``transforms.lattice`` for the search, its order and tie-break) and every record of a
violating class suppressed: all its QIs read ``*`` (ARX's marker). Suppressed records are kept
(``suppressed_mask`` says which); non-QI columns are never changed.

ARX's utility levers: ``weights`` (``ARXConfiguration.setAttributeWeight``: a QI's
contribution to the loss is multiplied by its weight over the largest one, see
``transforms.metrics``) and ``min_levels`` / ``max_levels`` (``DataDefinition``'s
``setMinimumGeneralization`` / ``setMaximumGeneralization``: only nodes within the bounds are
searched, see ``transforms.lattice``). All three map a QI's name to a value; a QI not named
has ARX's default weight 0.5 and is unbounded. Unknown names, levels outside a hierarchy and
negative weights are ``ConfigurationError``s naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.encode import encode_table
from transforms.hierarchy import Hierarchy
from transforms.lattice import (
    LevelBoundsError,
    SearchResult,
    evaluate_node,
    level_bounds,
    max_suppressed,
    search,
)
from transforms.metrics import AttributeWeightError, get_metric, weighted
from transforms.options import SEARCH_METHODS, SUPPRESSED, SearchMethod
from transforms.privacy_models import PrivacyModel, PrivacyModelError, qi_class_ids

__all__ = [
    "SUPPRESSED",
    "AnonymizationResult",
    "TransformationOutOfBoundsError",
    "anonymize",
    "anonymize_at",
    "apply_transformation",
]

DEFAULT_WEIGHT = 0.5  # ARXConfiguration.getAttributeWeight of an attribute given no weight


@dataclass(frozen=True)
class AnonymizationResult:
    data: pd.DataFrame
    suppressed_mask: np.ndarray
    transformation: dict[str, int] | None  # None: no node satisfies the models within the limit
    loss: float | None
    suppressed: int
    classes: int
    min_class_size: int
    nodes_checked: int
    lattice_size: int = 0


class TransformationOutOfBoundsError(LevelBoundsError):
    """A given transformation generalizes a QI below its minimum or above its maximum level."""


def qi_weights(
    qi: Sequence[str], weights: Mapping[str, float] | None, /
) -> tuple[float, ...] | None:
    """One weight per QI in QI order (a QI not named: ARX's default 0.5), validated with the
    column named."""
    if weights is None:
        return None
    for column, w in weights.items():
        if column not in qi:
            raise AttributeWeightError(column, "not a quasi-identifier")
        if isinstance(w, bool) or not isinstance(w, int | float) or not np.isfinite(w) or w < 0:
            raise AttributeWeightError(column, "must be a finite number >= 0")
    return tuple(float(weights.get(c, DEFAULT_WEIGHT)) for c in qi)


def apply_transformation(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    levels: Sequence[int],
    suppressed_mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """Generalize each QI to its level and write ``*`` into every QI of suppressed records."""
    out = df.copy()
    for column, level in zip(qi, levels, strict=True):
        generalized = hierarchies[column].generalize(df[column], level=level)
        if suppressed_mask is not None and suppressed_mask.any():
            generalized = generalized.where(~suppressed_mask, SUPPRESSED)
        out[column] = generalized
    return out


def anonymize(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    models: Sequence[PrivacyModel],
    suppression_limit: float,
    metric: str = "nu-entropy",
    method: SearchMethod = "optimal",
    weights: Mapping[str, float] | None = None,
    min_levels: Mapping[str, int] | None = None,
    max_levels: Mapping[str, int] | None = None,
) -> AnonymizationResult:
    """Find and apply the optimal transformation among the nodes within the level bounds.

    ``weights`` multiply each QI's contribution to ``metric`` (ARX's attribute weights,
    normalized by the largest); ``min_levels`` / ``max_levels`` bound each named QI's level
    (inclusive). ``method="mondrian"`` (local recoding) has no levels or per-QI loss to bound
    or weigh: it takes none of the three.

    Examples
    --------
    >>> from transforms.privacy_models import KAnonymity
    >>> h = {"sex": Hierarchy("sex", (("M", "*"), ("F", "*")))}
    >>> df = pd.DataFrame({"sex": ["M", "F", "F"], "n": ["1", "2", "3"]})
    >>> r = anonymize(df, qi=["sex"], hierarchies=h, models=[KAnonymity(2)], suppression_limit=0)
    >>> r.transformation, r.data["sex"].tolist()
    ({'sex': 1}, ['*', '*', '*'])
    """
    if method == "mondrian":
        if weights or min_levels or max_levels:
            raise PrivacyModelError(
                "weights and level bounds apply to the optimal full-domain search, not to "
                "method='mondrian'"
            )
        return _mondrian(df, qi=qi, hierarchies=hierarchies, models=models)
    if method not in SEARCH_METHODS:
        raise PrivacyModelError(f"unknown method {method!r}; choose one of {SEARCH_METHODS}")
    missing = [c for c in qi if c not in df.columns]
    if missing:
        raise PrivacyModelError(f"quasi-identifiers not in the table: {missing}")
    sensitive = []
    for model in models:
        column = model.sensitive_column
        if column is not None and column not in sensitive:
            if column not in df.columns:
                raise PrivacyModelError(f"sensitive column {column!r} not in the table")
            if column in qi:
                raise PrivacyModelError(f"column {column!r} cannot be both QI and sensitive")
            sensitive.append(column)
    loss_metric = weighted(get_metric(metric), qi_weights(qi, weights))
    low, high = _bounds(qi, hierarchies, min_levels, max_levels)
    enc = encode_table(df, qi=qi, hierarchies=hierarchies, sensitive=sensitive)
    result: SearchResult = search(
        enc,
        models=models,
        suppression_limit=suppression_limit,
        metric=loss_metric,
        min_levels=low,
        max_levels=high,
    )
    if result.levels is None or result.evaluation is None:
        return AnonymizationResult(
            data=df.copy(),
            suppressed_mask=np.zeros(len(df), dtype=bool),
            transformation=None,
            loss=None,
            suppressed=0,
            classes=0,
            min_class_size=0,
            nodes_checked=result.nodes_checked,
            lattice_size=result.lattice_size,
        )
    ev = result.evaluation
    suppressed_tuple = ev.violating[ev.class_of_tuple]
    mask = suppressed_tuple[enc.row_tuple] if len(df) else np.zeros(0, dtype=bool)
    kept = ev.kept_sizes
    data = apply_transformation(
        df, qi=qi, hierarchies=hierarchies, levels=result.levels, suppressed_mask=mask
    )
    return AnonymizationResult(
        data=data,
        suppressed_mask=mask,
        transformation=dict(zip(qi, result.levels, strict=True)),
        loss=result.loss,
        suppressed=ev.suppressed,
        classes=len(kept),
        min_class_size=int(kept.min()) if len(kept) else 0,
        nodes_checked=result.nodes_checked,
        lattice_size=result.lattice_size,
    )


def anonymize_at(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    models: Sequence[PrivacyModel],
    suppression_limit: float,
    transformation: Mapping[str, int],
    metric: str = "nu-entropy",
    weights: Mapping[str, float] | None = None,
    min_levels: Mapping[str, int] | None = None,
    max_levels: Mapping[str, int] | None = None,
) -> AnonymizationResult:
    """Apply one given transformation, if it satisfies the models within the suppression limit.

    A release series freezes the transformation of its first release: a new optimum each
    night would let a recipient intersect two differently generalized files. The result's
    ``transformation`` is None when the frozen node no longer satisfies the models.

    ``weights`` only change the reported loss. A transformation outside ``min_levels`` /
    ``max_levels`` raises ``TransformationOutOfBoundsError``: the bounds say which nodes the
    profile allows, and a node outside them is not silently released (nor silently replaced,
    which would change a frozen series; the caller decides, see ``pipeline.steps.anonymize``).
    """
    missing = [c for c in qi if c not in transformation]
    if missing:
        raise PrivacyModelError(f"transformation gives no level for {missing}")
    loss_metric = weighted(get_metric(metric), qi_weights(qi, weights))
    low, high = _bounds(qi, hierarchies, min_levels, max_levels)
    for j, column in enumerate(qi):
        level = int(transformation[column])
        if (low is not None and level < low[j]) or (high is not None and level > high[j]):
            raise TransformationOutOfBoundsError(
                column,
                f"level {level} outside the bounds {low[j] if low else 0}.."
                f"{high[j] if high else hierarchies[column].height - 1}",
            )
    sensitive = sorted({m.sensitive_column for m in models if m.sensitive_column is not None})
    enc = encode_table(df, qi=qi, hierarchies=hierarchies, sensitive=sensitive)
    levels = [int(transformation[c]) for c in qi]
    limit = max_suppressed(len(df), suppression_limit)
    ev = evaluate_node(enc, levels, models=models, max_suppressed=limit)
    if not ev.satisfied:
        return AnonymizationResult(
            data=df.copy(),
            suppressed_mask=np.zeros(len(df), dtype=bool),
            transformation=None,
            loss=None,
            suppressed=ev.suppressed,
            classes=0,
            min_class_size=0,
            nodes_checked=1,
        )
    suppressed_tuple = ev.violating[ev.class_of_tuple]
    mask = suppressed_tuple[enc.row_tuple] if len(df) else np.zeros(0, dtype=bool)
    kept = ev.kept_sizes
    data = apply_transformation(
        df, qi=qi, hierarchies=hierarchies, levels=levels, suppressed_mask=mask
    )
    bound = float(loss_metric.lower_bounds(enc, np.asarray([levels], dtype=np.int64))[0])
    return AnonymizationResult(
        data=data,
        suppressed_mask=mask,
        transformation=dict(zip(qi, levels, strict=True)),
        loss=float(loss_metric.value(enc, ev, bound=bound)),
        suppressed=ev.suppressed,
        classes=len(kept),
        min_class_size=int(kept.min()) if len(kept) else 0,
        nodes_checked=1,
    )


def _bounds(
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    min_levels: Mapping[str, int] | None,
    max_levels: Mapping[str, int] | None,
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    if not min_levels and not max_levels:
        return None, None
    heights = []
    for column in qi:
        if column not in hierarchies:
            raise PrivacyModelError(f"no hierarchy for quasi-identifier {column!r}")
        heights.append(hierarchies[column].height)
    return level_bounds(qi, heights, min_levels=min_levels, max_levels=max_levels)


def _mondrian(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    models: Sequence[PrivacyModel],
) -> AnonymizationResult:
    """Local recoding by ``transforms.mondrian`` in this result shape.

    Mondrian has no level vector: ``transformation`` is ``{}`` on success (``None`` when even
    the whole table violates a model), ``loss`` the mean normalized certainty penalty, nothing
    is suppressed and ``nodes_checked`` is 0.
    """
    from transforms.mondrian import MondrianInfeasibleError, mondrian

    no_rows = np.zeros(len(df), dtype=bool)
    try:
        recoded = mondrian(df, qi=qi, models=models, hierarchies=hierarchies)
    except MondrianInfeasibleError:
        return AnonymizationResult(df.copy(), no_rows, None, None, 0, 0, 0, 0)
    # Two partitions can end with the same labels: the released classes are what counts.
    ids, n_classes = qi_class_ids(recoded.data, qi=qi)
    return AnonymizationResult(
        data=recoded.data,
        suppressed_mask=no_rows,
        transformation={},
        loss=recoded.ncp,
        suppressed=0,
        classes=n_classes,
        min_class_size=int(np.bincount(ids).min()) if len(ids) else 0,
        nodes_checked=0,
    )
