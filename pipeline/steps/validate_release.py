"""validate_release: the gate. Check every candidate; persist the decision; fail closed."""

from __future__ import annotations

from typing import Any

from pipeline.release.datasets import (
    COUNT_TABLE,
    MICRODATA,
    candidate_list,
    partner_registry,
    sha256,
)
from pipeline.release.decision_record import CheckRecord, DecisionRecord
from pipeline.release.errors import ReleaseBlocked
from pipeline.release.gate import evaluate_release
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.steps.zone_io import finish


def _parameters(ctx: RunContext) -> dict[str, dict[str, object]]:
    """What each dataset was really built and checked with (the manifest repeats it)."""
    profile = ctx.config.profile
    anonymized = ctx.read_report("anonymize") or {}
    tables = ctx.read_report("build_tables") or {}
    micro: dict[str, object] = {
        "k": profile.k,
        "quasi_identifiers": list(profile.quasi_identifiers),
        "transformation": anonymized.get("transformation"),
        "suppression_limit": profile.suppression_limit,
    }
    if profile.sensitive is not None:
        micro |= {"sensitive": profile.sensitive, "l": profile.l, "l_variant": profile.l_variant}
        if profile.t is not None:
            micro |= {"t": profile.t, "t_distance": profile.t_distance}
    table: dict[str, object] = {
        "protection": "primary suppression",
        "min_cell_count": tables.get("table_min_cell_count"),
    }
    return {MICRODATA: micro, COUNT_TABLE: table}


def validate_release(ctx: RunContext) -> dict[str, Any]:
    """Check every candidate against the profile and each recipient's minimum; fail closed."""
    anonymized = ctx.read_report("anonymize") or {}
    candidates = candidate_list(
        ctx.run_dir / "candidates",
        profile=ctx.config.profile,
        transformation=anonymized.get("transformation"),
    )
    checked = {c.name: sha256(c.path) for c in candidates}
    decision = evaluate_release(
        candidates,
        profile=ctx.config.profile,
        partners=partner_registry(ctx.config.partners),
        docs_dir=ctx.zone("docs"),
    )
    record = DecisionRecord(
        allowed={r: list(d) for r, d in sorted(decision.allowed.items())},
        blocked={r: list(d) for r, d in sorted(decision.blocked.items())},
        profile_failures=list(decision.profile_failures),
        docs_index=str(decision.docs_index) if decision.docs_index else None,
        checks=[CheckRecord.model_validate(dict(c)) for c in decision.checks],
        sha256=checked,
        parameters=_parameters(ctx),
    )
    record.write(ctx.zone("reports"))
    report = record.model_dump(mode="json")
    if decision.profile_failures:
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="release.blocked",
            reasons=list(decision.profile_failures),
        )
        raise ReleaseBlocked(list(decision.profile_failures))
    for recipient, reasons in sorted(decision.blocked.items()):
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="recipient.blocked",
            recipient=recipient,
            reasons=list(reasons),
        )
    return finish(ctx, "validate_release", report)
