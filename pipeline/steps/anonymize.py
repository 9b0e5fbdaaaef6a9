"""anonymize: the optimal full-domain generalization of the customer profile."""

from __future__ import annotations

import time
from typing import Any

from pipeline.release.datasets import microdata_label_orders
from pipeline.release.errors import ReleaseBlocked
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.sources.hierarchies import shipped_hierarchies
from pipeline.steps.zone_io import finish, read, write
from transforms.anonymize import anonymize as anonymize_frame
from transforms.release_order import canonical_order


def anonymize(ctx: RunContext) -> dict[str, Any]:
    """Run the optimal search on the de-identified customer profile; keep released rows."""
    profile = ctx.config.profile
    customers = read(ctx, "deidentified", "customers")
    qi = profile.quasi_identifiers
    started = time.perf_counter()
    result = anonymize_frame(
        customers.astype({c: "str" for c in qi}),
        qi=qi,
        hierarchies=shipped_hierarchies(qi),
        models=profile.requirement.models(),
        suppression_limit=profile.suppression_limit,
        metric=profile.metric,
    )
    seconds = time.perf_counter() - started
    if result.transformation is None:
        reason = (
            "no generalization satisfies the profile within the suppression limit "
            f"{profile.suppression_limit:.1%}"
        )
        audit.record(
            ctx.config.workdir, run_id=ctx.run_id, event="release.blocked", reasons=[reason]
        )
        raise ReleaseBlocked([reason])
    kept = ~result.suppressed_mask
    columns = [*qi, *([profile.sensitive] if profile.sensitive else [])]
    transformation = {c: int(result.transformation[c]) for c in qi}
    # Order on the released labels only: an order on anything hidden (the original age or
    # postal prefix, the source order) would let positions give the hidden values back.
    released = canonical_order(
        result.data.loc[kept, columns],
        label_orders=microdata_label_orders(transformation, sensitive=profile.sensitive),
    )
    write(ctx, "anonymized", "customers", released)
    report = {
        "transformation": transformation,
        "records": len(customers),
        "suppressed": int(result.suppressed),
        "classes": int(result.classes),
        "min_class_size": int(result.min_class_size),
        "loss": float(result.loss) if result.loss is not None else None,
        "metric": profile.metric,
        "nodes_checked": int(result.nodes_checked),
        "search_seconds": round(seconds, 3),
    }
    return finish(ctx, "anonymize", report)
