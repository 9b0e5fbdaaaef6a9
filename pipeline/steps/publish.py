"""publish: only what the gate allowed, per recipient, signed, moved into place atomically.

Each recipient's files are written in its format (``pipeline.release.formats``) to its
destination, with a data dictionary per dataset and, beside anonymously processed
information, the statement that it is (``pipeline.release.legal``); the manifest states each
dataset's legal category and hashes the bytes delivered.

Every provision and every refusal (blocked, held, not due, refused, withdrawn, a destination
that failed) is appended to the provision ledger (``pipeline.release.ledger``), a provision only
once its recipient's folder is in place. After each recipient's folder is complete, what it
received is recorded internally (the differencing gate compares the next release with it) and
a microdata series' transformation is frozen by its first release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.release import ledger
from pipeline.release.datasets import (
    MICRODATA,
    cadence_for,
    csv_bytes,
    partner_registry,
    sha256,
    split_series,
)
from pipeline.release.decision_record import DecisionRecord
from pipeline.release.errors import DestinationUnwritable, RecipientsBlocked, ReleaseBlocked
from pipeline.release.formats import FormatError, encode, encode_text, shape, suffix
from pipeline.release.ledger_checkpoint import Checkpoint, write_checkpoint
from pipeline.release.legal import (
    STATEMENT_FILE,
    anonymously_processed,
    category_of,
    dictionary_frame,
    dictionary_name,
    report_dictionary_frame,
    statement_text,
)
from pipeline.release.publish import publish_release, withdraw
from pipeline.release.series import FrozenSeries, Received, freeze_series, record_received
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.step_reports import (
    AnonymizeReport,
    BuildTablesReport,
    PublishedFolder,
    PublishReport,
    ReleasedSeries,
)
from pipeline.settings.keys import demo_mode
from pipeline.settings.partners import Recipient
from pipeline.settings.report_specs import ReportSpec, load_catalogue
from pipeline.settings.signing_keys import load_signing_key
from pipeline.steps.zone_io import finish, read
from transforms.errors import ConfigurationError
from transforms.periods import Cadence, period_cutoff


def _record(
    ctx: RunContext,
    recipient: Recipient,
    name: str,
    digest: str,
    series: dict[Cadence, ReleasedSeries],
) -> None:
    """Keep what ``recipient`` received of ``name``; a series. first release freezes it."""
    dataset, cadence = split_series(name)
    own_cadence = cadence or cadence_for(recipient, dataset)
    if dataset == MICRODATA and cadence is not None:
        entry = series[cadence]
        content = read(ctx, "anonymized", f"{MICRODATA}_{cadence}")
        cutoff = date.fromisoformat(entry.cutoff)
        transformation = dict(entry.transformation)
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
        content = read(ctx, "anonymized", dataset)
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
        self.key: Ed25519PrivateKey | None = None

    def _checkpoint(self, entry: ledger.LedgerEntry) -> None:
        """Sign the new head (``pipeline.release.ledger_checkpoint``). Without a signing key
        the checkpoint is not renewed, and ``ledger verify`` then reports the unsigned entries.
        """
        if self.key is None:
            try:
                self.key = load_signing_key(demo=demo_mode())
            except ConfigurationError:
                return
        write_checkpoint(
            Path(self.ctx.config.workdir),
            Checkpoint(entries=entry.id, head_id=entry.id, head_sha256=entry.sha256),
            self.key,
        )

    def record(self, recipient: str, outcome: ledger.Outcome, **fields: Any) -> None:
        entry = ledger.append(
            self.engine, run=self.ctx.run_id, recipient=recipient, outcome=outcome, **fields
        )
        self._checkpoint(entry)
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
            ("refused", decision.refused),
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


def delivery(
    recipient: Recipient,
    names: list[str],
    *,
    candidates: Path,
    parameters: dict[str, dict[str, object]],
    purposes: Mapping[str, Sequence[str]],
    root: str,
    catalogue: Mapping[str, ReportSpec] | None = None,
) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """The files one recipient receives (in its format) and the manifest's dataset entries.

    Each dataset, its data dictionary (a catalogue table's derived from its spec in
    ``catalogue``, by default the shipped one), and the statement when any is anonymously
    processed, in the encoding of the recipient's format (a character it cannot hold fails
    with a FormatError naming the file). Each entry states the consent purposes its
    population consented to (``purposes``: the candidate name -> purposes of build_tables'
    report; a name it lacks serves none).
    """
    specs = load_catalogue() if catalogue is None else catalogue
    fmt = recipient.format
    ext = suffix(fmt)
    files: dict[str, bytes] = {}
    datasets: dict[str, dict[str, Any]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for name in names:
        dataset = split_series(name)[0]
        payload = (candidates / f"{name}.csv").read_bytes()
        columns[dataset] = shape(f"{name}.csv", payload, "csv-utf8")[1]
        files[f"{dataset}{ext}"] = encode(payload, fmt, name=f"{dataset}{ext}")
        built = parameters.get(name, {})
        levels = built.get("transformation")
        spec = specs.get(dataset)
        if spec is not None:
            dictionary = report_dictionary_frame(spec, columns=columns[dataset], parameters=built)
        else:
            dictionary = dictionary_frame(
                columns[dataset], levels=levels if isinstance(levels, dict) else None
            )
        files[dictionary_name(dataset, ext)] = encode(
            csv_bytes(dictionary), fmt, name=dictionary_name(dataset, ext)
        )
        datasets[dataset] = {
            **built,
            "legal_category": category_of(dataset),
            "purposes": sorted(purposes.get(name, ())),
        }
        summary = candidates / f"{name}.summary.json"
        if summary.is_file():  # a report table's summary goes with it (cells, shares, method)
            files[f"{dataset}.summary.json"] = summary.read_bytes()
    processed = anonymously_processed(datasets)
    if processed:
        statement = statement_text(
            files=[f"{d}{ext}" for d in processed],
            columns=[c for d in processed for c in columns[d]],
            agreement=recipient.agreement,
            destination=root,
        )
        # In the encoding of the recipient's CSV files (Parquet: UTF-8); cp932 is strict.
        files[STATEMENT_FILE] = encode_text(statement, fmt, name=STATEMENT_FILE)
    return files, datasets


def publish(ctx: RunContext) -> PublishReport:
    """Withdraw blocked recipients, then publish the allowed datasets checked by the gate.

    A file whose bytes differ from what the gate checked is refused: nothing the gate did
    not see can be published. A destination that cannot be written fails that recipient
    only (its previous release stays as it was), and the step fails after the others.
    """
    decision = DecisionRecord.read(ctx.run_dir / "reports")
    book = _Ledger(ctx)
    registry = partner_registry(ctx.config.partners)
    recipients = registry.ids()
    anonymized = ctx.read_report(AnonymizeReport)
    series = anonymized.released() if anonymized else {}
    if decision.profile_failures:
        for recipient in sorted(recipients):
            book.record(recipient, "blocked", reason="; ".join(decision.profile_failures))
        raise ReleaseBlocked(decision.profile_failures)
    default_root = ctx.config.release_root

    def root(recipient: str) -> str:
        return registry.get(recipient).destination_root(default_root)

    allowed = {r: d for r, d in decision.allowed.items() if d}
    withdrawn = [
        r for r in sorted(set(recipients) - set(allowed)) if withdraw(root(r), r, ctx.run_id)
    ]
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
    tables = ctx.read_report(BuildTablesReport)  # the purposes each dataset served
    profile = ctx.config.profile.model_dump(mode="json")
    signing_key = load_signing_key(demo=demo_mode())
    book.key = signing_key  # the ledger's checkpoints sign with the same key, loaded once
    catalogue = load_catalogue()
    published: dict[str, PublishedFolder] = {}
    failed: dict[str, str] = {}
    for recipient, names in sorted(allowed.items()):
        try:
            files, parameters = delivery(
                registry.get(recipient),
                names,
                candidates=ctx.run_dir / "candidates",
                parameters=decision.parameters,
                purposes=tables.purposes if tables else {},
                root=root(recipient),
                catalogue=catalogue,
            )
            release = publish_release(
                release_root=root(recipient),
                recipient=recipient,
                run_id=ctx.run_id,
                files=dict(files),
                profile=profile,
                signing_key=signing_key,
                parameters=parameters,
                file_format=registry.get(recipient).format,
                # The folder's purposes: those every dataset's population consented to.
                purposes=sorted({p for d in parameters.values() for p in d["purposes"]}),
            )
        except FormatError as exc:  # a file its format cannot hold: nothing written
            failed[recipient] = str(exc)
            book.record(recipient, "failed", datasets=list(names), reason=failed[recipient])
            continue
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
        published[recipient] = PublishedFolder(folder=release.folder, files=list(release.files))
    report = PublishReport(
        published=published,
        blocked=decision.blocked,
        held=decision.held,
        not_due=decision.not_due,
        refused=decision.refused,
        withdrawn=withdrawn,
    )
    if failed:
        ctx.write_report(report.model_copy(update={"failed": failed}))
        raise DestinationUnwritable(failed)
    if decision.blocked:
        ctx.write_report(report)
        raise RecipientsBlocked(decision.blocked)
    return finish(ctx, report)
