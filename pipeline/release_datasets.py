"""The datasets a run may release, how they are made safe, gated and published.

- ``customers_microdata``: one row per customer (age, gender, postal area, main course),
  generalized by the optimal search under the privacy profile; suppressed records are not
  released. Rows are in canonical order (``transforms.release_order``): sorted on the released
  labels only, so their order says nothing about the hidden original values or the source.
- ``customers_by_region_age_gender_course``: distinct customers per region x 5-year age band
  x gender x course, every cell of that product written, cells under the minimum count
  suppressed. One version is built for all recipients, at the strictest minimum among them:
  different versions for different partners could be subtracted to reveal the small cells.

The gate records the sha256 of every file it checked; publish refuses any file whose bytes
differ, so nothing the gate did not see can be published.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import audit
from pipeline.config import DATA_DIR
from pipeline.partners import PartnerRegistry, load_partners
from pipeline.privacy_profile import models_for
from pipeline.publish import publish_release, withdraw
from pipeline.release_gate import CandidateDataset, evaluate_release
from pipeline.run_context import RunContext
from pipeline.source_schema import COURSE_CATEGORIES
from transforms.anonymize import anonymize
from transforms.hierarchy import Hierarchy, find_hierarchies
from transforms.release_order import canonical_order
from transforms.tables import count_distinct_table

HIERARCHY_DIR = DATA_DIR / "hierarchies"
MICRODATA = "customers_microdata"
COUNT_TABLE = "customers_by_region_age_gender_course"
DATASETS = (COUNT_TABLE, MICRODATA)
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


def hierarchies(columns: Sequence[str]) -> dict[str, Hierarchy]:
    """The shipped ARX hierarchies for ``columns`` (data/hierarchies/)."""
    return find_hierarchies(HIERARCHY_DIR, columns=tuple(columns))


def _partners(ctx: RunContext) -> PartnerRegistry:
    return load_partners(ctx.config.partners, known_datasets=DATASETS)


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def anonymize_customers(ctx: RunContext) -> dict[str, Any]:
    """Run the optimal search on the de-identified customer profile."""
    profile = ctx.config.profile
    customers = pd.read_parquet(ctx.run_dir / "deidentified" / "customers.parquet")
    qi = profile.quasi_identifiers
    started = time.perf_counter()
    result = anonymize(
        customers.astype({c: "str" for c in qi}),
        qi=qi,
        hierarchies=hierarchies(qi),
        models=models_for(profile),
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
    released.to_parquet(ctx.zone("anonymized") / "customers.parquet", index=False)
    return {
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


def build_candidates(ctx: RunContext) -> dict[str, Any]:
    """Write every releasable dataset as a CSV candidate for the gate."""
    candidates = ctx.zone("candidates")
    trees = hierarchies(("age", "gender", "postal_code"))
    customers = pd.read_parquet(ctx.run_dir / "deidentified" / "customers.parquet")
    usage = pd.read_parquet(ctx.run_dir / "deidentified" / "usage.parquet")
    cells = customers[["pseudonym", "gender"]].assign(
        region=trees["postal_code"].generalize(
            customers["postal_code"].astype("str"), level=REGION_LEVEL
        ),
        age_band=trees["age"].generalize(customers["age"].astype("str"), level=AGE_BAND_LEVEL),
    )
    joined = usage[["pseudonym", "course_category"]].merge(cells, on="pseudonym", how="inner")
    recipients = _partners(ctx).allowed(COUNT_TABLE)
    min_count = max([ctx.config.profile.min_cell_count, *(r.min_cell_count for r in recipients)])
    table = count_distinct_table(
        joined,
        domains=_table_label_orders(trees),
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


def _labels(tree: Hierarchy, level: int) -> tuple[str, ...]:
    """A level's labels in hierarchy order, each once."""
    return tuple(dict.fromkeys(row[level] for row in tree.levels))


def microdata_label_orders(
    transformation: dict[str, int], *, sensitive: str | None
) -> dict[str, tuple[str, ...]]:
    """The label order of each released microdata column (its hierarchy level's order)."""
    trees = hierarchies(tuple(transformation))
    orders = {c: _labels(trees[c], level) for c, level in transformation.items()}
    if sensitive == "main_course":
        orders[sensitive] = COURSE_CATEGORIES
    return orders


def _table_label_orders(trees: dict[str, Hierarchy]) -> dict[str, tuple[str, ...]]:
    return {
        "region": _labels(trees["postal_code"], REGION_LEVEL),
        "age_band": _labels(trees["age"], AGE_BAND_LEVEL),
        "gender": trees["gender"].leaves,
        "course_category": COURSE_CATEGORIES,
    }


def _candidate_list(ctx: RunContext) -> list[CandidateDataset]:
    profile = ctx.config.profile
    folder = ctx.run_dir / "candidates"
    anonymized = ctx.read_report("anonymize") or {}
    transformation = anonymized.get("transformation") or {}
    return [
        CandidateDataset(
            name=MICRODATA,
            path=folder / f"{MICRODATA}.csv",
            kind="microdata",
            qi=tuple(profile.quasi_identifiers),
            sensitive=profile.sensitive,
            # No transformation on record: no order to check against, so the gate fails it.
            label_orders=microdata_label_orders(transformation, sensitive=profile.sensitive)
            if transformation
            else None,
        ),
        CandidateDataset(
            name=COUNT_TABLE,
            path=folder / f"{COUNT_TABLE}.csv",
            kind="table",
            count_column="customers",
            label_orders=_table_label_orders(hierarchies(("age", "gender", "postal_code"))),
        ),
    ]


def gate(ctx: RunContext) -> dict[str, Any]:
    """Decide who may receive what; persist the decision; raise when the profile fails."""
    candidates = _candidate_list(ctx)
    checked = {c.name: _sha256(c.path) for c in candidates}
    decision = evaluate_release(
        candidates,
        profile=ctx.config.profile,
        partners=_partners(ctx),
        docs_dir=ctx.zone("docs"),
    )
    report = decision.to_json() | {"sha256": checked}
    (ctx.run_dir / "reports" / "release_decision.json").write_text(
        json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
    )
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
    return report


def publish_allowed(ctx: RunContext) -> dict[str, Any]:
    """Withdraw blocked recipients, then publish the allowed datasets checked by the gate."""
    decision = json.loads((ctx.run_dir / "reports" / "release_decision.json").read_text())
    if decision.get("profile_failures"):
        raise ReleaseBlocked(decision["profile_failures"])
    root = ctx.config.release_root
    allowed = {r: d for r, d in decision["allowed"].items() if d}
    withdrawn = [
        r for r in sorted(set(_partners(ctx).ids()) - set(allowed)) if withdraw(root, r, ctx.run_id)
    ]
    changed = [
        name
        for name, digest in sorted(decision["sha256"].items())
        if _sha256(ctx.run_dir / "candidates" / f"{name}.csv") != digest
    ]
    if changed:
        raise ReleaseBlocked([f"{name}: changed after the gate checked it" for name in changed])
    profile = ctx.config.profile.model_dump(mode="json")
    published: dict[str, Any] = {}
    for recipient, datasets in sorted(allowed.items()):
        files = {f"{d}.csv": ctx.run_dir / "candidates" / f"{d}.csv" for d in datasets}
        release = publish_release(
            release_root=root, recipient=recipient, run_id=ctx.run_id, files=files, profile=profile
        )
        published[recipient] = {"folder": release.folder, "files": list(release.files)}
    report = {"published": published, "blocked": decision["blocked"], "withdrawn": withdrawn}
    if decision["blocked"]:
        ctx.write_report("publish", report)
        raise RecipientsBlocked(decision["blocked"])
    return report
