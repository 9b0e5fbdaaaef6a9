"""The dataset catalogue: what a run may release, in which canonical order, checked how.

- ``customers_microdata``: one row per customer (age, gender, postal area, main course),
  generalized by the optimal search under the privacy profile; suppressed records are not
  released. Rows are in canonical order (``transforms.release_order``): sorted on the released
  labels only, so their order says nothing about the hidden original values or the source.
- the report catalogue's tables (``data/reports/``, ``pipeline.release.reports``): each is
  one version for all its recipients, built at the strictest minimum among them (different
  versions for different partners could be subtracted to reveal the small cells).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import cast

import pandas as pd

from pipeline.release.gate import CandidateDataset
from pipeline.release.report_gate import ReportCheck
from pipeline.settings.partners import (
    PartnerRegistry,
    PartnerRegistryError,
    Recipient,
    load_partners,
)
from pipeline.settings.release_config import PrivacyProfile
from pipeline.settings.report_specs import ReportSpec, load_catalogue
from pipeline.sources.hierarchies import level_labels, shipped_hierarchies
from pipeline.sources.schema import COURSE_CATEGORIES
from transforms.deidentify import NO_VISIT
from transforms.periods import Cadence, period_cutoff

MICRODATA = "customers_microdata"
DATASETS = (MICRODATA,)  # besides the report catalogue's tables (report_names)
# How often a dataset goes to a recipient whose agreement does not say (see transforms.periods).
# Microdata monthly, as of the month's end: a nightly series would show every birthday and every
# deletion as a change of one row. Report tables: nightly.
DEFAULT_CADENCE: dict[str, Cadence] = {MICRODATA: "monthly"}


def series_name(dataset: str, cadence: Cadence) -> str:
    """The candidate name of one release series of a dataset (``customers_microdata@monthly``)."""
    return f"{dataset}@{cadence}"


def cadence_for(recipient: Recipient, dataset: str) -> Cadence:
    """A recipient's cadence for ``dataset`` (report tables: nightly unless agreed)."""
    return recipient.cadence_for(dataset, default=DEFAULT_CADENCE.get(dataset, "nightly"))


def report_names(catalogue: Mapping[str, ReportSpec] | None = None) -> tuple[str, ...]:
    """The catalogue's partner tables (data/reports/), web statistics excluded."""
    specs = load_catalogue() if catalogue is None else catalogue
    return tuple(n for n, s in specs.items() if s.source != "web_access_log")


def known_datasets(catalogue: Mapping[str, ReportSpec] | None = None) -> tuple[str, ...]:
    return (*DATASETS, *report_names(catalogue))


def microdata_series(registry: PartnerRegistry, run_date: date) -> dict[Cadence, date]:
    """Each cadence at which some recipient receives the microdata, with its cut-off."""
    cadences = sorted({cadence_for(r, MICRODATA) for r in registry.allowed(MICRODATA)})
    return {c: period_cutoff(run_date, c) for c in cadences}


def partner_registry(path: Path) -> PartnerRegistry:
    """The partner registry, checked against the datasets this catalogue knows."""
    catalogue = load_catalogue()
    registry = load_partners(path, known_datasets=known_datasets(catalogue))
    for recipient in registry.recipients:
        for name in recipient.allowed_datasets:
            spec = catalogue.get(name)
            if spec is not None and recipient.kind not in spec.recipients:
                raise PartnerRegistryError(
                    path,
                    f"recipient {recipient.id!r}: allowed_datasets: {name} may not go to a "
                    f"{recipient.kind} (its spec allows {', '.join(spec.recipients)})",
                )
    return registry


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The bytes of a released CSV (UTF-8, LF, no index): the same frame, the same bytes."""
    data: bytes = df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return data


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def microdata_label_orders(
    transformation: Mapping[str, int], *, sensitive: str | None
) -> dict[str, tuple[str, ...]]:
    """The label order of each released microdata column (its hierarchy level's order)."""
    trees = shipped_hierarchies(tuple(transformation))
    orders = {c: level_labels(trees[c], level) for c, level in transformation.items()}
    if sensitive == "main_course":
        # Customers without a visit have the main course "none": it sorts last.
        orders[sensitive] = (*COURSE_CATEGORIES, NO_VISIT)
    return orders


def split_series(name: str) -> tuple[str, Cadence | None]:
    """``customers_microdata@monthly`` -> (``customers_microdata``, ``monthly``)."""
    dataset, _, cadence = name.partition("@")
    return dataset, cast("Cadence | None", cadence or None)


def receives(recipient: Recipient, candidate: CandidateDataset) -> bool:
    """Whether ``candidate`` is the version of its dataset this recipient's agreement names."""
    dataset, cadence = split_series(candidate.name)
    if not recipient.allows(dataset):
        return False
    return cadence is None or cadence == cadence_for(recipient, dataset)


def report_candidates(
    folder: Path, anonymized: Path, reports: Mapping[str, Mapping[str, object]]
) -> list[CandidateDataset]:
    """The catalogue's tables built this run (``reports``: the build step's summaries)."""
    out = []
    for name, summary in sorted(reports.items()):
        check = ReportCheck.from_summary(anonymized / f"{name}.parquet", summary)
        out.append(
            CandidateDataset(
                name=name,
                path=folder / f"{name}.csv",
                kind="report",
                label_orders={d.name: d.codes for d in check.dimensions},
                report=check,
            )
        )
    return out


def candidate_list(
    folder: Path,
    *,
    profile: PrivacyProfile,
    series: Mapping[str, Mapping[str, int]],
    reports: Mapping[str, Mapping[str, object]] | None = None,
) -> list[CandidateDataset]:
    """The candidate files of a run's ``candidates/`` folder, with what the gate checks.

    ``series`` maps each microdata series' cadence to its transformation; ``reports`` the
    catalogue tables built this run to their summaries (the anonymized zone beside
    ``folder`` holds their internal copies).
    """
    micro = [
        CandidateDataset(
            name=series_name(MICRODATA, cast("Cadence", cadence)),
            path=folder / f"{series_name(MICRODATA, cast('Cadence', cadence))}.csv",
            kind="microdata",
            qi=tuple(profile.quasi_identifiers),
            sensitive=profile.sensitive,
            label_orders=microdata_label_orders(transformation, sensitive=profile.sensitive),
        )
        for cadence, transformation in sorted(series.items())
    ]
    tables = report_candidates(folder, folder.parent / "anonymized", reports or {})
    return [*micro, *tables]
