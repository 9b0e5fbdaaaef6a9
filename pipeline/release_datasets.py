"""The datasets a run may release, how they are made safe, gated and published.

- ``customers_microdata``: one row per customer (age, gender, postal area, main course),
  generalized by the optimal search under the privacy profile; suppressed records are not
  released. Rows are sorted by value so their order says nothing about the source order.
- ``customers_by_region_age_gender_course``: distinct customers per region x 5-year age band
  x gender x course, with cells under the minimum count suppressed. One version is built for
  all recipients, at the strictest minimum among them: different versions for different
  partners could be subtracted from each other to reveal the small cells.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import audit
from pipeline.config import DATA_DIR
from pipeline.run_context import RunContext

HIERARCHY_DIR = DATA_DIR / "hierarchies"
MICRODATA = "customers_microdata"
COUNT_TABLE = "customers_by_region_age_gender_course"
AGE_BAND_LEVEL = 1  # 5-year bands
REGION_LEVEL = 2  # postal prefix -> prefecture -> region


class RecipientsBlocked(Exception):
    """Some recipients failed their checks: they received nothing, and the run ends failed."""

    def __init__(self, blocked: dict[str, list[str]]) -> None:
        detail = "; ".join(f"{r}: {', '.join(reasons)}" for r, reasons in sorted(blocked.items()))
        super().__init__(f"nothing published for {len(blocked)} recipient(s): {detail}")
        self.blocked = blocked


class ReleaseBlocked(Exception):
    """The privacy profile itself failed: nothing of this run is published."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("release blocked, nothing published: " + "; ".join(reasons))
        self.reasons = tuple(reasons)


def _hierarchies(columns: tuple[str, ...]):
    from transforms.hierarchy import find_hierarchies

    return find_hierarchies(HIERARCHY_DIR, columns=columns)


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def anonymize_customers(ctx: RunContext) -> dict[str, Any]:
    """Run the optimal search on the de-identified customer profile."""
    from pipeline.privacy_profile import models_for
    from transforms.anonymize import anonymize

    profile = ctx.config.profile
    customers = pd.read_parquet(ctx.run_dir / "deidentified" / "customers.parquet")
    qi = profile.quasi_identifiers
    data = customers.astype({c: "str" for c in qi})
    started = time.perf_counter()
    result = anonymize(
        data,
        qi=qi,
        hierarchies=_hierarchies(qi),
        models=models_for(profile),
        suppression_limit=profile.suppression_limit,
        metric=profile.metric,
    )
    seconds = time.perf_counter() - started
    if result.transformation is None:
        raise ReleaseBlocked(
            [
                f"no generalization satisfies the profile within the suppression limit "
                f"{profile.suppression_limit:.1%}"
            ]
        )
    released = result.data[~result.suppressed_mask]
    columns = [*qi, *([profile.sensitive] if profile.sensitive else [])]
    released = released[columns].sort_values(columns, kind="stable").reset_index(drop=True)
    released.to_parquet(ctx.zone("anonymized") / "customers.parquet", index=False)
    return {
        "transformation": {c: int(result.transformation[c]) for c in qi},
        "records": len(customers),
        "suppressed": int(result.suppressed),
        "classes": int(result.classes),
        "min_class_size": int(result.min_class_size),
        "loss": float(result.loss) if result.loss is not None else None,
        "metric": profile.metric,
        "nodes_checked": int(result.nodes_checked),
        "search_seconds": round(seconds, 3),
    }


def _table_min_count(ctx: RunContext) -> int:
    from pipeline.partners import load_partners

    registry = load_partners(ctx.config.partners)
    mins = [r.min_cell_count for r in registry.recipients if COUNT_TABLE in r.allowed_datasets]
    return max([ctx.config.profile.min_cell_count, *mins])


def build_candidates(ctx: RunContext) -> dict[str, Any]:
    """Write every releasable dataset as a CSV candidate for the gate."""
    from transforms.tables import count_distinct_table

    candidates = ctx.zone("candidates")
    hierarchies = _hierarchies(("age", "postal_code"))
    customers = pd.read_parquet(ctx.run_dir / "deidentified" / "customers.parquet")
    usage = pd.read_parquet(ctx.run_dir / "deidentified" / "usage.parquet")
    cells = customers[["pseudonym", "gender"]].assign(
        region=hierarchies["postal_code"].generalize(
            customers["postal_code"].astype("str"), level=REGION_LEVEL
        ),
        age_band=hierarchies["age"].generalize(
            customers["age"].astype("str"), level=AGE_BAND_LEVEL
        ),
    )
    joined = usage[["pseudonym", "course_category"]].merge(cells, on="pseudonym", how="inner")
    min_count = _table_min_count(ctx)
    table = count_distinct_table(
        joined,
        by=["region", "age_band", "gender", "course_category"],
        unit="pseudonym",
        count_name="customers",
        min_count=min_count,
    )
    (candidates / f"{COUNT_TABLE}.csv").write_bytes(_csv_bytes(table))
    microdata = pd.read_parquet(ctx.run_dir / "anonymized" / "customers.parquet")
    (candidates / f"{MICRODATA}.csv").write_bytes(_csv_bytes(microdata))
    return {
        "datasets": {MICRODATA: len(microdata), COUNT_TABLE: len(table)},
        "table_min_cell_count": min_count,
        "table_cells_suppressed": int(table["suppressed"].sum()),
    }


def _candidate_list(ctx: RunContext):
    from pipeline.release_gate import CandidateDataset

    profile = ctx.config.profile
    folder = ctx.run_dir / "candidates"
    return [
        CandidateDataset(
            name=MICRODATA,
            path=folder / f"{MICRODATA}.csv",
            kind="microdata",
            qi=tuple(profile.quasi_identifiers),
            sensitive=profile.sensitive,
        ),
        CandidateDataset(
            name=COUNT_TABLE,
            path=folder / f"{COUNT_TABLE}.csv",
            kind="table",
            count_column="customers",
        ),
    ]


def gate(ctx: RunContext) -> dict[str, Any]:
    """Decide who may receive what; persist the decision; raise when the profile fails."""
    from pipeline.partners import load_partners
    from pipeline.release_gate import evaluate_release

    decision = evaluate_release(
        _candidate_list(ctx),
        profile=ctx.config.profile,
        partners=load_partners(ctx.config.partners),
        docs_dir=ctx.zone("docs"),
    )
    report = decision.to_json()
    (ctx.run_dir / "reports" / "release_decision.json").write_text(
        json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
    )
    for recipient, reasons in sorted(decision.blocked.items()):
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="recipient.blocked",
            recipient=recipient,
            reasons=list(reasons),
        )
    if decision.profile_failures:
        from pipeline.publish import withdraw

        for recipient in load_partners(ctx.config.partners).ids():
            withdraw(ctx.config.release_root, recipient, ctx.run_id)
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event="release.blocked",
            reasons=list(decision.profile_failures),
        )
        raise ReleaseBlocked(list(decision.profile_failures))
    return report


def publish_allowed(ctx: RunContext) -> dict[str, Any]:
    """Publish the allowed datasets; withdraw any earlier files of blocked recipients."""
    from pipeline.publish import publish_release, withdraw

    decision = json.loads((ctx.run_dir / "reports" / "release_decision.json").read_text())
    if decision.get("profile_failures"):
        raise ReleaseBlocked(decision["profile_failures"])
    root = ctx.config.release_root
    profile = ctx.config.profile.model_dump(mode="json")
    published: dict[str, Any] = {}
    for recipient, datasets in sorted(decision["allowed"].items()):
        if not datasets:
            continue
        files = {f"{d}.csv": ctx.run_dir / "candidates" / f"{d}.csv" for d in datasets}
        release = publish_release(
            release_root=root, recipient=recipient, run_id=ctx.run_id, files=files, profile=profile
        )
        published[recipient] = {"folder": release.folder, "files": list(release.files)}
    withdrawn = [r for r in sorted(decision["blocked"]) if withdraw(root, r, ctx.run_id)]
    report = {"published": published, "blocked": decision["blocked"], "withdrawn": withdrawn}
    if decision["blocked"]:
        ctx.write_report("publish", report)
        raise RecipientsBlocked(decision["blocked"])
    return report


def candidate_path(ctx: RunContext, name: str) -> Path:
    return ctx.run_dir / "candidates" / f"{name}.csv"
