"""validate_release: the gate. Check every candidate; hold what differencing would reveal.

Decisions per recipient and dataset, all persisted in the typed decision record:
0. the agreement: a recipient whose agreement is not in force on the run date receives
   nothing (``refused``, with why), and is not checked;
1. the privacy checks of the profile and of the recipient's minimum (``release.gate``);
2. is it due: a recipient receives each period of a series once (its cadence);
3. the differencing gate: compared with the last release this recipient received, no
   equivalence class and no published cell may change by fewer than k records (or the
   table's threshold). A release that would is held, audited, and tried again next period
   with the changes accumulated;
4. the law (``release.legal``): anonymously processed information is refused unless its
   public notice, as the configuration gives it now, was recorded as published on or before
   the run date. Its internal processing record (Rule 34) is written for every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.release.datasets import (
    MICRODATA,
    cadence_for,
    candidate_list,
    partner_registry,
    receives,
    sha256,
    split_series,
)
from pipeline.release.decision_record import CheckRecord
from pipeline.release.errors import ReleaseBlocked
from pipeline.release.gate import evaluate_release
from pipeline.release.legal import category_of, dataset_notice, notice_problem, processing_record
from pipeline.release.series import Received, last_received
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.step_reports import (
    AnonymizeReport,
    BuildTablesReport,
    DeidentifyReport,
    ReleasedSeries,
    ValidateReleaseReport,
)
from pipeline.settings.partners import PartnerRegistry, Recipient
from pipeline.settings.report_specs import load_catalogue
from pipeline.settings.storage import private_dir, write_private
from pipeline.steps.anonymize import UNIT
from pipeline.steps.zone_io import finish, read
from transforms.differencing import microdata_difference, table_difference
from transforms.periods import Cadence, first_release_date, next_cutoff, period_cutoff
from transforms.tables import SUPPRESSED_COLUMN


@dataclass
class _Built:
    """What anonymize and build_tables made this run, each report and each anonymized frame
    read once per validation (every recipient and candidate asks for them)."""

    ctx: RunContext
    series: dict[Cadence, ReleasedSeries]  # released this run (a held one has no candidate)
    tables: dict[str, dict[str, Any]]  # build_tables' summary of each catalogue table
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def read(cls, ctx: RunContext) -> _Built:
        series = ctx.read_report(AnonymizeReport)
        return cls(
            ctx,
            series.released() if series else {},
            dict(ctx.require_report(BuildTablesReport).reports),
        )

    def anonymized(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            self.frames[name] = read(self.ctx, "anonymized", name)
        return self.frames[name]


def _parameters(ctx: RunContext, built: _Built) -> dict[str, dict[str, object]]:
    """What each candidate was really built and checked with (the manifest repeats it)."""
    profile = ctx.config.profile
    deidentify = ctx.read_report(DeidentifyReport)
    out: dict[str, dict[str, object]] = {}
    for cadence, entry in built.series.items():
        micro: dict[str, object] = {
            "k": profile.k,
            "quasi_identifiers": list(profile.quasi_identifiers),
            "transformation": dict(entry.transformation),
            "suppression_limit": profile.suppression_limit,
            "series": cadence,
            "cutoff": entry.cutoff,
            "reference_date": entry.reference_date,
        }
        if profile.sensitive is not None:
            micro |= {
                "sensitive": profile.sensitive,
                "l": profile.l,
                "l_variant": profile.l_variant,
            }
            if profile.t is not None:
                micro |= {"t": profile.t, "t_distance": profile.t_distance}
        out[f"{MICRODATA}@{cadence}"] = micro
    catalogue = load_catalogue()
    for name, summary in built.tables.items():
        out[name] = {k: v for k, v in summary.items() if k != "dimensions"}
        if deidentify and any(d.attribute == "age" for d in catalogue[name].dimensions):
            out[name]["age_reference"] = deidentify.age_reference  # ages as of 1 January
    return out


def _cutoff(ctx: RunContext, built: _Built, recipient: Recipient, name: str) -> date:
    dataset, cadence = split_series(name)
    if cadence is not None:
        return date.fromisoformat(built.series[cadence].cutoff)
    return period_cutoff(ctx.run_date, cadence_for(recipient, dataset))


def _difference_reason(
    ctx: RunContext,
    built: _Built,
    recipient: Recipient,
    name: str,
    previous: tuple[Received, pd.DataFrame] | None,
) -> str | None:
    """Why releasing ``name`` to ``recipient`` would single someone out (None: it would not)."""
    dataset, cadence = split_series(name)
    if previous is None:
        return None
    record, old = previous
    if dataset == MICRODATA:
        assert cadence is not None  # a microdata candidate is always one series
        transformation = built.series[cadence].transformation
        if record.transformation != transformation:
            return None  # a new series (reset by an operator, audited): nothing aligns
        profile = ctx.config.profile
        k = max(profile.k, recipient.min_k)
        diff = microdata_difference(
            old,
            built.anonymized(f"{MICRODATA}_{cadence}"),
            qi=profile.quasi_identifiers,
            sensitive=profile.sensitive,
            unit=UNIT,
            k=k,
        )
        if diff.safe:
            return None
        return (
            f"{diff.classes_changed_below_k} of {diff.classes_compared} classes changed by "
            f"fewer than k={k} records since the release of {record.run_id}"
        )
    # Every other candidate is a table of the report catalogue (datasets.candidate_list).
    return _report_difference(built, dataset, built.tables[dataset], record, old)


def _report_difference(
    built: _Built, name: str, summary: dict[str, Any], record: Received, old: pd.DataFrame
) -> str | None:
    """A suppressed report table: no cell's contributors may move by 1..n-1 while published
    in either release. The cell key method and DP protect differences by their noise."""
    if summary["method"] != "suppress":
        return None
    threshold = int(summary["min_contributors"])
    tdiff = table_difference(
        old,
        built.anonymized(name),
        dimensions=tuple(name for name, _ in summary["dimensions"]),
        count="contributors",
        suppressed=SUPPRESSED_COLUMN,
        threshold=threshold,
    )
    if tdiff.safe:
        return None
    return (
        f"{tdiff.cells_at_risk} of {tdiff.cells_compared} cells' contributors changed by fewer "
        f"than {threshold} since the release of {record.run_id} and were published in either"
    )


def _series_decisions(
    ctx: RunContext,
    built: _Built,
    allowed: dict[str, list[str]],
    recipients: dict[str, Recipient],
) -> tuple[dict[str, list[str]], dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Split each recipient's allowed candidates into released, held and not due."""
    released: dict[str, list[str]] = {}
    held: dict[str, dict[str, str]] = {}
    not_due: dict[str, dict[str, str]] = {}
    for rid, names in sorted(allowed.items()):
        recipient = recipients[rid]
        for name in names:
            dataset, _ = split_series(name)
            cadence = cadence_for(recipient, dataset)
            cutoff = _cutoff(ctx, built, recipient, name)
            previous = last_received(ctx.config.workdir, rid, dataset, before_run=ctx.run_id)
            if previous is not None and previous[0].cutoff >= cutoff:
                upcoming = first_release_date(next_cutoff(previous[0].cutoff, cadence), cadence)
                not_due.setdefault(rid, {})[name] = (
                    f"already received the period ending {previous[0].cutoff} "
                    f"({cadence}); next on or after {upcoming}"
                )
                continue
            reason = _difference_reason(ctx, built, recipient, name, previous)
            if reason is not None:
                upcoming = first_release_date(next_cutoff(cutoff, cadence), cadence)
                held[rid] = held.get(rid, {}) | {name: f"{reason}; next try on {upcoming}"}
                continue
            released.setdefault(rid, []).append(name)
    return released, held, not_due


def _lapsed(registry: PartnerRegistry, on: date) -> dict[str, dict[str, str]]:
    """Recipients whose agreement is not in force on ``on``: each allowed dataset, and why."""
    out: dict[str, dict[str, str]] = {}
    for r in registry.recipients:
        if (problem := r.agreement_problem(on)) is not None:
            out[r.id] = dict.fromkeys(r.allowed_datasets, problem)
    return out


def _without_notice(
    ctx: RunContext, released: dict[str, list[str]], registry: PartnerRegistry
) -> dict[str, dict[str, str]]:
    """Take out of ``released`` the anonymously processed datasets without a published notice."""
    refused: dict[str, dict[str, str]] = {}
    notices: dict[str, str | None] = {}
    profile = ctx.config.profile
    for rid, names in sorted(released.items()):
        for name in list(names):
            dataset, _ = split_series(name)
            if category_of(dataset) != "anonymously_processed":
                continue
            if dataset not in notices:
                text = dataset_notice(
                    dataset,
                    quasi_identifiers=profile.quasi_identifiers,
                    sensitive=profile.sensitive,
                    recipients=registry.recipients,
                    release_root=ctx.config.release_root,
                )
                notices[dataset] = notice_problem(
                    ctx.config.workdir, dataset, text=text, on=ctx.run_date
                )
            if (problem := notices[dataset]) is not None:
                names.remove(name)
                refused.setdefault(rid, {})[name] = f"anonymously processed information: {problem}"
    for rid in [r for r, names in released.items() if not names]:
        del released[rid]
    return refused


def _processing_records(
    ctx: RunContext, built: _Built, parameters: dict[str, dict[str, object]]
) -> list[str]:
    """One internal processing record per anonymously processed dataset of this run."""
    folder = private_dir(ctx.run_dir / "processing_records")
    written = []
    for cadence, entry in sorted(built.series.items()):
        name = f"{MICRODATA}@{cadence}"
        if name not in parameters:
            continue
        required = {
            k: v
            for k, v in parameters[name].items()
            if k in ("k", "l", "l_variant", "t", "t_distance", "suppression_limit", "sensitive")
        }
        achieved = {
            "records": entry.records,
            "suppressed": entry.suppressed,
            "classes": entry.classes,
            "min_class_size": entry.min_class_size,
        }
        record = processing_record(
            name,
            run=ctx.run_id,
            transformation=dict(entry.transformation),
            requirement=required,
            achieved=achieved,
        )
        path = write_private(folder / f"{name}.json", json.dumps(record, indent=2) + "\n")
        written.append(str(path))
    return written


def validate_release(ctx: RunContext) -> ValidateReleaseReport:
    """Check every candidate against the profile and each recipient's minimum; fail closed."""
    built = _Built.read(ctx)
    series: dict[str, Mapping[str, int]] = {c: e.transformation for c, e in built.series.items()}
    candidates = candidate_list(
        ctx.run_dir / "candidates",
        profile=ctx.config.profile,
        series=series,
        reports=built.tables,
    )
    registry = partner_registry(ctx.config.partners)
    lapsed = _lapsed(registry, ctx.run_date)
    in_force = registry.model_copy(
        update={"recipients": tuple(r for r in registry.recipients if r.id not in lapsed)}
    )
    checked = {c.name: sha256(c.path) for c in candidates}
    decision = evaluate_release(
        candidates,
        profile=ctx.config.profile,
        partners=in_force,
        docs_dir=ctx.zone("docs"),
        receives=receives,
    )
    refused = dict(lapsed)
    if decision.profile_failures:
        released: dict[str, list[str]] = {}
        held: dict[str, dict[str, str]] = {}
        not_due: dict[str, dict[str, str]] = {}
    else:
        released, held, not_due = _series_decisions(
            ctx,
            built,
            {r: list(d) for r, d in decision.allowed.items()},
            {r.id: r for r in registry.recipients},
        )
        for rid, why in _without_notice(ctx, released, registry).items():
            refused[rid] = refused.get(rid, {}) | why
    parameters = _parameters(ctx, built)
    records = _processing_records(ctx, built, parameters)
    record = ValidateReleaseReport(
        allowed=released,
        blocked={r: list(d) for r, d in sorted(decision.blocked.items())},
        profile_failures=list(decision.profile_failures),
        docs_index=str(decision.docs_index) if decision.docs_index else None,
        checks=[CheckRecord.model_validate(dict(c)) for c in decision.checks],
        sha256=checked,
        parameters=parameters,
        held=held,
        not_due=not_due,
        refused=refused,
    )
    record.write(ctx.zone("reports"))
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
    for recipient, why in sorted(refused.items()):
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="recipient.refused",
            recipient=recipient,
            reasons=sorted(set(why.values())),
        )
    if records:
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="processing_record.written",
            files=[Path(r).name for r in records],
        )
    for recipient, datasets in sorted(held.items()):
        for name, reason in sorted(datasets.items()):
            audit.record(
                ctx.config.workdir,
                run_id=ctx.run_id,
                event="release.held",
                recipient=recipient,
                dataset=name,
                reason=reason,
            )
    return finish(ctx, record)
