"""publish: only what the gate allowed, per recipient, with the manifest written last.

After each recipient's folder is complete, what it received is recorded internally (the
differencing gate compares the next release with it) and a microdata series' transformation
is frozen by its first release.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from pipeline.release.datasets import (
    COUNT_TABLE,
    MICRODATA,
    cadence_for,
    partner_registry,
    sha256,
    split_series,
)
from pipeline.release.decision_record import DecisionRecord
from pipeline.release.errors import RecipientsBlocked, ReleaseBlocked
from pipeline.release.publish import publish_release, withdraw
from pipeline.release.series import FrozenSeries, Received, freeze_series, record_received
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.settings.signing_keys import load_signing_key
from pipeline.steps.zone_io import finish, read
from transforms.periods import period_cutoff


def _record(ctx: RunContext, recipient: str, name: str, digest: str) -> None:
    dataset, cadence = split_series(name)
    registry = partner_registry(ctx.config.partners)
    series = (ctx.read_report("anonymize") or {}).get("series", {})
    if dataset == MICRODATA and cadence is not None:
        entry = series[cadence]
        content = read(ctx, "anonymized", f"{MICRODATA}_{cadence}")
        cutoff = date.fromisoformat(entry["cutoff"])
        transformation = dict(entry["transformation"])
        path = freeze_series(
            ctx.config.workdir,
            FrozenSeries(
                dataset=dataset,
                cadence=cadence,
                transformation=transformation,
                first_run=ctx.run_id,
                first_cutoff=cutoff,
            ),
        )
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="series.frozen",
            series=name,
            transformation=transformation,
            file=path.name,
        )
    else:
        content = read(ctx, "anonymized", COUNT_TABLE)
        cutoff = period_cutoff(ctx.run_date, cadence_for(registry.get(recipient), dataset))
        transformation = None
    record_received(
        ctx.config.workdir,
        Received(
            recipient=recipient,
            dataset=dataset,
            cadence=str(cadence or cadence_for(registry.get(recipient), dataset)),
            run_id=ctx.run_id,
            cutoff=cutoff,
            sha256=digest,
            transformation=transformation,
        ),
        content,
    )


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
    signing_key = load_signing_key(demo=os.environ.get("ANONRELEASE_DEMO") == "1")
    published: dict[str, Any] = {}
    for recipient, names in sorted(allowed.items()):
        files = {
            f"{split_series(n)[0]}.csv": ctx.run_dir / "candidates" / f"{n}.csv" for n in names
        }
        release = publish_release(
            release_root=root,
            recipient=recipient,
            run_id=ctx.run_id,
            files=files,
            profile=profile,
            signing_key=signing_key,
            parameters={split_series(n)[0]: decision.parameters.get(n, {}) for n in names},
        )
        for name in names:
            _record(ctx, recipient, name, decision.sha256[name])
        published[recipient] = {"folder": release.folder, "files": list(release.files)}
    report = {
        "published": published,
        "blocked": decision.blocked,
        "held": decision.held,
        "not_due": decision.not_due,
        "withdrawn": withdrawn,
    }
    if decision.blocked:
        ctx.write_report("publish", report)
        raise RecipientsBlocked(decision.blocked)
    return finish(ctx, "publish", report)
