"""publish: only what the gate allowed, per recipient, with the manifest written last."""

from __future__ import annotations

from typing import Any

from pipeline.release.datasets import partner_registry, sha256
from pipeline.release.decision_record import DecisionRecord
from pipeline.release.errors import RecipientsBlocked, ReleaseBlocked
from pipeline.release.publish import publish_release, withdraw
from pipeline.run.context import RunContext
from pipeline.steps.zone_io import finish


def publish(ctx: RunContext) -> dict[str, Any]:
    """Withdraw blocked recipients, then publish the allowed datasets checked by the gate.

    A file whose bytes differ from what the gate checked is refused: nothing the gate did
    not see can be published.
    """
    decision = DecisionRecord.read(ctx.run_dir / "reports")
    if decision.profile_failures:
        raise ReleaseBlocked(decision.profile_failures)
    root = ctx.config.release_root
    allowed = {r: d for r, d in decision.allowed.items() if d}
    recipients = partner_registry(ctx.config.partners).ids()
    withdrawn = [r for r in sorted(set(recipients) - set(allowed)) if withdraw(root, r, ctx.run_id)]
    changed = [
        name
        for name, digest in sorted(decision.sha256.items())
        if sha256(ctx.run_dir / "candidates" / f"{name}.csv") != digest
    ]
    if changed:
        raise ReleaseBlocked([f"{name}: changed after the gate checked it" for name in changed])
    profile = ctx.config.profile.model_dump(mode="json")
    published: dict[str, Any] = {}
    for recipient, datasets in sorted(allowed.items()):
        files = {f"{d}.csv": ctx.run_dir / "candidates" / f"{d}.csv" for d in datasets}
        release = publish_release(
            release_root=root,
            recipient=recipient,
            run_id=ctx.run_id,
            files=files,
            profile=profile,
            parameters={d: decision.parameters.get(d, {}) for d in datasets},
        )
        published[recipient] = {"folder": release.folder, "files": list(release.files)}
    report = {"published": published, "blocked": decision.blocked, "withdrawn": withdrawn}
    if decision.blocked:
        ctx.write_report("publish", report)
        raise RecipientsBlocked(decision.blocked)
    return finish(ctx, "publish", report)
