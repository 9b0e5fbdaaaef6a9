"""The release gate: which recipient may receive which dataset of this run.

Every candidate dataset is validated against the strictest requirement that applies:

1. the run's privacy profile (k, l, t, min cell count). A failure here is a *profile failure*:
   nothing at all is published (``profile_failures``);
2. for each recipient allowed the dataset, ``max(profile, recipient minimum)`` (min_k, min_l,
   min_cell_count). A recipient that fails for any of its datasets receives nothing and is
   listed in ``blocked`` with the reasons (expectation names, columns, counts; no values).

Microdata: k-anonymity on the QIs, l-diversity (and t-closeness) on the sensitive column when
configured, and the direct-identifier scan on every column (``released_microdata`` suite).
Every row is checked, including rows whose QIs are all ``*`` (no suppression marker): the
pipeline removes suppressed records before it writes a candidate, so any row left is released.
(``anonrelease validate`` keeps the suite's ``*`` marker for ARX-style files with suppressed
rows.)
Tables: minimum cell count on the count column and the direct-identifier scan
(``released_tables``). An empty dataset is a profile failure, never a silent pass.
Every candidate's rows must be in canonical order (``transforms.release_order``: sorted on
the released values only). Any other order may carry hidden values, and is a profile failure.
All validations share one GX context, so ``docs_dir`` gets one Data Docs site for the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from pipeline.settings.partners import PartnerRegistry, Recipient
from pipeline.settings.release_config import PrivacyProfile
from transforms.errors import DataError
from transforms.release_order import is_canonical

if TYPE_CHECKING:
    from expectations.validation import ValidationOutcome, Validator

PROFILE_FAILED = "privacy profile failed: nothing of this run is published"


@dataclass(frozen=True)
class CandidateDataset:
    """A file the run wants to publish (Parquet, or CSV as the lead's pipeline writes)."""

    name: str
    path: Path
    kind: Literal["microdata", "table"]
    qi: tuple[str, ...] = ()
    sensitive: str | None = None
    count_column: str | None = None
    # Each column's label order for the canonical row order (others sort as text).
    label_orders: Mapping[str, Sequence[str]] | None = None


@dataclass(frozen=True)
class Requirement:
    """The numbers one validation enforces (profile, or profile tightened by a recipient)."""

    k: int | None = None
    l: int | None = None  # noqa: E741 - the privacy model's name
    min_cell_count: int | None = None

    def label(self) -> str:
        parts = [f"{n}={v}" for n, v in (("k", self.k), ("l", self.l)) if v is not None]
        if self.min_cell_count is not None:
            parts.append(f"min_cell_count={self.min_cell_count}")
        return ", ".join(parts)


@dataclass(frozen=True)
class ReleaseDecision:
    """Who gets what. ``profile_failures`` non-empty means nothing at all is published."""

    allowed: Mapping[str, tuple[str, ...]]
    blocked: Mapping[str, tuple[str, ...]]
    profile_failures: tuple[str, ...]
    docs_index: Path | None
    checks: tuple[Mapping[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": {r: list(d) for r, d in sorted(self.allowed.items())},
            "blocked": {r: list(d) for r, d in sorted(self.blocked.items())},
            "profile_failures": list(self.profile_failures),
            "docs_index": str(self.docs_index) if self.docs_index else None,
            "checks": [dict(c) for c in self.checks],
        }


class UnreadableDatasetError(DataError):
    """A candidate file is missing or not CSV/Parquet (the message names the dataset)."""


def read_candidate(candidate: CandidateDataset, /) -> pd.DataFrame:
    """Read a candidate; microdata QI/sensitive columns as text (as the anonymizer wrote them)."""
    path = Path(candidate.path)
    if not path.is_file():
        raise UnreadableDatasetError(f"{candidate.name}: file not found")
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix in (".csv", ".txt"):
        text_columns = [*candidate.qi, *([candidate.sensitive] if candidate.sensitive else [])]
        dtype = dict.fromkeys(text_columns, "str") if candidate.kind == "microdata" else None
        df = pd.read_csv(path, dtype=dtype, keep_default_na=candidate.kind != "microdata")
    else:
        raise UnreadableDatasetError(f"{candidate.name}: not a .parquet or .csv file")
    return df


def _profile_requirement(candidate: CandidateDataset, profile: PrivacyProfile) -> Requirement:
    if candidate.kind == "microdata":
        return Requirement(k=profile.k, l=profile.l if _sensitive(candidate, profile) else None)
    return Requirement(min_cell_count=profile.min_cell_count)


def _recipient_requirement(base: Requirement, recipient: Recipient) -> Requirement:
    if base.min_cell_count is not None:
        return Requirement(min_cell_count=max(base.min_cell_count, recipient.min_cell_count))
    strict_l = [v for v in (base.l, recipient.min_l) if v is not None]
    return Requirement(k=max(base.k or 0, recipient.min_k), l=max(strict_l) if strict_l else None)


def _sensitive(candidate: CandidateDataset, profile: PrivacyProfile) -> str | None:
    return candidate.sensitive if candidate.sensitive is not None else profile.sensitive


def suite_for(candidate: CandidateDataset) -> str:
    """The GX suite a candidate is checked with."""
    return "released_microdata" if candidate.kind == "microdata" else "released_tables"


def suite_parameters(candidate: CandidateDataset, profile: PrivacyProfile) -> dict[str, Any]:
    """The suite parameters of a candidate's check against the profile (preflight loads the
    suites with them before a run starts)."""
    return _parameters(candidate, profile, _profile_requirement(candidate, profile))


def _parameters(
    candidate: CandidateDataset, profile: PrivacyProfile, req: Requirement
) -> dict[str, Any]:
    if candidate.kind == "table":
        if not candidate.count_column:
            from expectations.validation import SuiteConfigError

            raise SuiteConfigError("released_tables", f"{candidate.name}: count_column not set")
        return {"count_column": candidate.count_column, "min_cell_count": req.min_cell_count}
    params: dict[str, Any] = {
        "qi": list(candidate.qi or profile.quasi_identifiers),
        "k": req.k,
        "sensitive": _sensitive(candidate, profile),
        # The pipeline removed suppressed records before writing the candidate: a row whose
        # every QI is ``*`` is a released record and must be in the k/l/t checks.
        "suppression_marker": None,
    }
    if req.l is not None:
        params.update(
            {
                "l": req.l,
                "l_variant": profile.l_variant,
                "c": profile.c,
                "entropy_estimator": profile.entropy_estimator,
            }
        )
    if profile.t is not None and params["sensitive"] is not None:
        params.update({"t": profile.t, "t_distance": profile.t_distance})
    return params


def _reasons(candidate: CandidateDataset, req: Requirement, outcome: ValidationOutcome) -> list:
    if outcome.rows == 0:
        return [f"{candidate.name}: dataset is empty (0 rows)"]
    return [
        f"{candidate.name} [{req.label()}]: {f.expectation}"
        + (f" on {f.column}" if f.column else "")
        + f": {f.detail}"
        for f in outcome.failures
    ]


class _Checker:
    """Validates (dataset, requirement) pairs once each, sharing one GX context."""

    def __init__(self, profile: PrivacyProfile, docs_dir: Path | None) -> None:
        from expectations.validation import Validator

        self.profile = profile
        self.validator: Validator = Validator(docs_dir=docs_dir)
        self.frames: dict[str, pd.DataFrame] = {}
        self.cache: dict[tuple[str, Requirement], list[str]] = {}
        self.checks: list[dict[str, Any]] = []

    def reasons(self, candidate: CandidateDataset, req: Requirement) -> list[str]:
        key = (candidate.name, req)
        if key in self.cache:
            return self.cache[key]
        from expectations.validation import SuiteConfigError

        reasons: list[str]
        outcome = None
        try:
            if candidate.name not in self.frames:
                self.frames[candidate.name] = read_candidate(candidate)
            outcome = self.validator.run(
                self.frames[candidate.name],
                suite=suite_for(candidate),
                parameters=_parameters(candidate, self.profile, req),
                label=f"{candidate.name}.{'_'.join(req.label().split(', '))}",
            )
            reasons = _reasons(candidate, req, outcome)
            if not is_canonical(self.frames[candidate.name], label_orders=candidate.label_orders):
                reasons.append(
                    f"{candidate.name}: rows are not in canonical order "
                    "(an order not given by the released values can carry hidden ones)"
                )
        except (SuiteConfigError, UnreadableDatasetError) as exc:
            reasons = [f"{candidate.name} [{req.label()}]: {exc}"]
        self.cache[key] = reasons
        self.checks.append(
            {
                "dataset": candidate.name,
                "requirement": req.label(),
                "passed": not reasons,
                "rows": outcome.rows if outcome is not None else None,
                "failures": len(reasons),
            }
        )
        return reasons


def evaluate_release(
    candidates: Sequence[CandidateDataset],
    /,
    *,
    profile: PrivacyProfile,
    partners: PartnerRegistry,
    docs_dir: Path | None = None,
) -> ReleaseDecision:
    """Decide, per recipient, which candidate datasets it may receive (see the module doc)."""
    checker = _Checker(profile, docs_dir)
    profile_failures: list[str] = []
    for candidate in candidates:
        profile_failures += checker.reasons(candidate, _profile_requirement(candidate, profile))
    allowed: dict[str, tuple[str, ...]] = {}
    blocked: dict[str, tuple[str, ...]] = {}
    if profile_failures:
        blocked = dict.fromkeys(partners.ids(), (PROFILE_FAILED,))
    else:
        for recipient in partners.recipients:
            datasets = [c for c in candidates if recipient.allows(c.name)]
            reasons: list[str] = []
            for candidate in datasets:
                base = _profile_requirement(candidate, profile)
                req = _recipient_requirement(base, recipient)
                no_sensitive = _sensitive(candidate, profile) is None
                if candidate.kind == "microdata" and req.l is not None and no_sensitive:
                    reasons.append(f"{candidate.name}: min_l needs a sensitive column")
                    continue
                reasons += checker.reasons(candidate, req)
            if reasons:
                blocked[recipient.id] = tuple(reasons)
            else:
                allowed[recipient.id] = tuple(c.name for c in datasets)
    return ReleaseDecision(
        allowed=allowed,
        blocked=blocked,
        profile_failures=tuple(profile_failures),
        docs_index=checker.validator.docs_index,
        checks=tuple(checker.checks),
    )
