"""publish: only what the gate allowed, per recipient, signed, moved into place atomically.

Every provision and every refusal (blocked, held, not due, withdrawn, a destination that
failed) is appended to the provision ledger (``pipeline.release.ledger``), a provision only
once its recipient's folder is in place. After each recipient's folder is complete, what it
received is recorded internally (the differencing gate compares the next release with it) and
a microdata series' transformation is frozen by its first release.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from pipeline.release import ledger
from pipeline.release.datasets import (
    COUNT_TABLE,
    MICRODATA,
    cadence_for,
    partner_registry,
    sha256,
    split_series,
)
from pipeline.release.decision_record import DecisionRecord
from pipeline.release.errors import DestinationUnwritable, RecipientsBlocked, ReleaseBlocked
from pipeline.release.publish import publish_release, withdraw
from pipeline.release.series import FrozenSeries, Received, freeze_series, record_received
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.settings.partners import Recipient
from pipeline.settings.signing_keys import load_signing_key
from pipeline.steps.zone_io import finish, read
from transforms.periods import period_cutoff


def _record(
    ctx: RunContext,
    recipient: Recipient,
    name: str,
    digest: str,
    series: dict[str, dict[str, Any]],
) -> None:
    """Keep what ``recipient`` received of ``name``; a series. first release freezes it."""
    dataset, cadence = split_series(name)
    own_cadence = cadence or cadence_for(recipient, dataset)
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
        cutoff = period_cutoff(ctx.run_date, own_cadence)
        transformation = None
    record_received(
        ctx.config.workdir,
        Received(
            recipient=recipient.id,
            dataset=dataset,
            cadence=own_cadence,
            run_id=ctx.run_id,
            cutoff=cutoff,
            sha256=digest,
            transformation=transformation,
        ),
        content,
    )


class _Ledger:
    """The run's appends to the provision ledger, each also noted in the audit trail."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.engine = ledger.open_ledger(
            ledger.ledger_url(ctx.config.ledger_url, ctx.config.workdir)
        )

    def record(self, recipient: str, outcome: ledger.Outcome, **fields: Any) -> None:
        entry = ledger.append(
            self.engine, run=self.ctx.run_id, recipient=recipient, outcome=outcome, **fields
        )
        audit.record(
            self.ctx.config.workdir,
            run_id=self.ctx.run_id,
            event="ledger.appended",
            recipient=recipient,
            outcome=outcome,
            entry=entry.id,
            sha256=entry.sha256,
        )

    def refusals(self, decision: DecisionRecord) -> None:
        for recipient, reasons in sorted(decision.blocked.items()):
            self.record(recipient, "blocked", reason="; ".join(reasons))
        refusals: tuple[tuple[ledger.Outcome, dict[str, dict[str, str]]], ...] = (
            ("held", decision.held),
            ("not_due", decision.not_due),
        )
        for outcome, table in refusals:
            for recipient, why in sorted(table.items()):
                if why:
                    self.record(
                        recipient,
                        outcome,
                        datasets=sorted(why),
                        reason="; ".join(f"{name}: {w}" for name, w in sorted(why.items())),
                    )


def publish(ctx: RunContext) -> dict[str, Any]:
    """Withdraw blocked recipients, then publish the allowed datasets checked by the gate.

    A file whose bytes differ from what the gate checked is refused: nothing the gate did
    not see can be published. A destination that cannot be written fails that recipient
    only (its previous release stays as it was), and the step fails after the others.
    """
    decision = DecisionRecord.read(ctx.run_dir / "reports")
    book = _Ledger(ctx)
    registry = partner_registry(ctx.config.partners)
    recipients = registry.ids()
    series = (ctx.read_report("anonymize") or {}).get("series", {})
    if decision.profile_failures:
        for recipient in sorted(recipients):
            book.record(recipient, "blocked", reason="; ".join(decision.profile_failures))
        raise ReleaseBlocked(decision.profile_failures)
    root = ctx.config.release_root
    allowed = {r: d for r, d in decision.allowed.items() if d}
    withdrawn = [r for r in sorted(set(recipients) - set(allowed)) if withdraw(root, r, ctx.run_id)]
    for recipient in withdrawn:
        book.record(
            recipient, "withdrawn", reason="not allowed by this run: its earlier folder removed"
        )
    changed = [
        name
        for name, digest in sorted(decision.sha256.items())
        if sha256(ctx.run_dir / "candidates" / f"{name}.csv") != digest
    ]
    if changed:
        reasons = [f"{name}: changed after the gate checked it" for name in changed]
        for recipient in sorted(allowed):
            book.record(recipient, "blocked", reason="; ".join(reasons))
        raise ReleaseBlocked(reasons)
    book.refusals(decision)
    built_purposes = (ctx.read_report("build_tables") or {}).get("purposes", {})
    profile = ctx.config.profile.model_dump(mode="json")
    signing_key = load_signing_key(demo=os.environ.get("ANONRELEASE_DEMO") == "1")
    published: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for recipient, names in sorted(allowed.items()):
        files = {
            f"{split_series(n)[0]}.csv": ctx.run_dir / "candidates" / f"{n}.csv" for n in names
        }
        # The purposes each dataset's population consented to (build_tables' report).
        served = {n: built_purposes.get(n, []) for n in names}
        parameters = {
            split_series(n)[0]: {**decision.parameters.get(n, {}), "purposes": served[n]}
            for n in names
        }
        try:
            release = publish_release(
                release_root=root,
                recipient=recipient,
                run_id=ctx.run_id,
                files=files,
                profile=profile,
                signing_key=signing_key,
                parameters=parameters,
                purposes=sorted({p for ps in served.values() for p in ps}),
            )
        except OSError as exc:  # the destination: its previous release is left as it was
            failed[recipient] = f"destination not writable ({type(exc).__name__})"
            book.record(recipient, "failed", datasets=list(names), reason=failed[recipient])
            continue
        for name in names:
            _record(ctx, registry.get(recipient), name, decision.sha256[name], series)
        book.record(
            recipient,
            "provided",
            datasets=list(names),
            files=dict(release.sha256),
            parameters=parameters,
        )
        published[recipient] = {"folder": release.folder, "files": list(release.files)}
    report = {
        "published": published,
        "blocked": decision.blocked,
        "held": decision.held,
        "not_due": decision.not_due,
        "withdrawn": withdrawn,
    }
    if failed:
        ctx.write_report("publish", {**report, "failed": failed})
        raise DestinationUnwritable(failed)
    if decision.blocked:
        ctx.write_report("publish", report)
        raise RecipientsBlocked(decision.blocked)
    return finish(ctx, "publish", report)
