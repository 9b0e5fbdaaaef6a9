"""anonymize: generalize the customer profile of each microdata series.

A series (one per cadence some recipient receives) describes its period's cut-off. Its first
release takes the optimal transformation; later releases reuse that frozen transformation while
it still satisfies the privacy models. When it no longer does, the series is held (audited)
until an operator resets it: a change of generalization is a decision, not a nightly accident.

The profile's ``weights``, ``min_levels`` and ``max_levels`` steer the optimum of a first
release. A frozen transformation outside the profile's current bounds (the bounds were changed
after the series started) is not released: the series is held like one whose node no longer
satisfies the models, and the operator resets it, since silently re-choosing would change a
frozen series and silently releasing would publish what the profile now forbids.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from pipeline.release.datasets import MICRODATA, microdata_label_orders
from pipeline.release.errors import ReleaseBlocked
from pipeline.release.series import frozen_series
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.step_reports import (
    AnonymizeReport,
    DeidentifyReport,
    HeldSeries,
    ReleasedSeries,
)
from pipeline.sources.hierarchies import shipped_hierarchies
from pipeline.steps.zone_io import finish, read, write
from transforms.anonymize import (
    AnonymizationResult,
    TransformationOutOfBoundsError,
    anonymize_at,
)
from transforms.anonymize import anonymize as anonymize_frame
from transforms.periods import Cadence
from transforms.release_order import canonical_order

UNIT = "pseudonym"


def _generalize(
    ctx: RunContext, customers: pd.DataFrame, frozen: dict[str, int] | None
) -> AnonymizationResult:
    profile = ctx.config.profile
    qi = profile.quasi_identifiers
    data = customers.astype({c: "str" for c in qi})
    trees = shipped_hierarchies(qi)
    models = profile.requirement.models()
    limit, metric = profile.suppression_limit, profile.metric
    weights, low, high = profile.weights, profile.min_levels, profile.max_levels
    if frozen is not None:
        return anonymize_at(
            data,
            qi=qi,
            hierarchies=trees,
            models=models,
            suppression_limit=limit,
            metric=metric,
            transformation=frozen,
            weights=weights,
            min_levels=low,
            max_levels=high,
        )
    return anonymize_frame(
        data,
        qi=qi,
        hierarchies=trees,
        models=models,
        suppression_limit=limit,
        metric=metric,
        weights=weights,
        min_levels=low,
        max_levels=high,
    )


def _released(
    ctx: RunContext, result: AnonymizationResult, customers: pd.DataFrame
) -> pd.DataFrame:
    """Kept records in canonical order, with the pseudonym behind each row (internal only)."""
    profile = ctx.config.profile
    assert result.transformation is not None
    columns = [*profile.quasi_identifiers, *([profile.sensitive] if profile.sensitive else [])]
    kept = ~result.suppressed_mask
    rows = result.data.loc[kept, columns].assign(**{UNIT: customers.loc[kept, UNIT].to_numpy()})
    # Order on the released labels only (the pseudonym, internal, breaks ties last): an order
    # on anything hidden (the original age or postal prefix, the source order) would let
    # positions give the hidden values back.
    return canonical_order(
        rows.reset_index(drop=True),
        label_orders=microdata_label_orders(result.transformation, sensitive=profile.sensitive),
    )


def anonymize(ctx: RunContext) -> AnonymizeReport:
    """Generalize every microdata series; hold a series whose frozen node no longer holds."""
    series_report: dict[Cadence, ReleasedSeries | HeldSeries] = {}
    deidentify = ctx.read_report(DeidentifyReport)
    deidentified = deidentify.series if deidentify else {}
    for cadence, info in sorted(deidentified.items()):
        customers = read(ctx, "deidentified", f"customers_{cadence}")
        frozen = frozen_series(ctx.config.workdir, MICRODATA, cadence)
        if frozen is not None and frozen.first_run == ctx.run_id:
            frozen = None  # a rerun of the series' first release chooses again
        started = time.perf_counter()
        out_of_bounds: TransformationOutOfBoundsError | None = None
        try:
            result = _generalize(ctx, customers, frozen.transformation if frozen else None)
        except TransformationOutOfBoundsError as exc:  # only a frozen node can be outside
            out_of_bounds, result = exc, _generalize(ctx, customers, None)
        optimum = result if frozen is None or out_of_bounds is not None else None
        if frozen is not None and result.transformation is None:
            optimum = _generalize(ctx, customers, None)
        seconds = time.perf_counter() - started
        entry: dict[str, Any] = {
            "cutoff": info.cutoff,
            "reference_date": info.reference_date,
            "records": len(customers),
            "frozen": frozen is not None,
            "search_seconds": round(seconds, 3),
            "nodes_checked": int(result.nodes_checked),
        }
        if optimum is not None and optimum.transformation is None:
            limit = ctx.config.profile.suppression_limit
            reason = (
                f"{MICRODATA}@{cadence}: no generalization satisfies the profile within the "
                f"suppression limit {limit:.1%}"
            )
            audit.record(
                ctx.config.workdir, run_id=ctx.run_id, event="release.blocked", reasons=[reason]
            )
            raise ReleaseBlocked([reason])
        if result.transformation is None or out_of_bounds is not None:
            assert frozen is not None and optimum is not None
            why = (
                f"lies outside the profile's level bounds ({out_of_bounds.column}: "
                f"{out_of_bounds.problem})"
                if out_of_bounds is not None
                else "no longer satisfies the privacy profile"
            )
            held = (
                f"the series' frozen transformation {frozen.transformation} {why} (the optimum "
                f"now is {optimum.transformation}); reset the series to start a new one"
            )
            audit.record(
                ctx.config.workdir,
                run_id=ctx.run_id,
                event="series.held",
                dataset=MICRODATA,
                cadence=cadence,
                reason=held,
            )
            series_report[cadence] = HeldSeries(**entry, held=held)
            continue
        write(ctx, "anonymized", f"{MICRODATA}_{cadence}", _released(ctx, result, customers))
        series_report[cadence] = ReleasedSeries(
            **entry,
            transformation=dict(result.transformation),
            suppressed=int(result.suppressed),
            classes=int(result.classes),
            min_class_size=int(result.min_class_size),
            loss=float(result.loss) if result.loss is not None else None,
            metric=ctx.config.profile.metric,
        )
    return finish(ctx, AnonymizeReport(series=series_report))
