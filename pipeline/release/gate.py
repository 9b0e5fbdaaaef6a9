"""The release gate: which recipient may receive which dataset of this run.

Every candidate dataset is validated against the strictest requirement that applies:

1. the run's privacy profile (k, l, t, min cell count). A failure here is a *profile failure*:
   nothing at all is published (``profile_failures``);
2. for each recipient allowed the dataset, ``max(profile, recipient minimum)`` (min_k, min_l,
   min_cell_count). A recipient that fails for any of its datasets receives nothing and is
   listed in ``blocked`` with the reasons (expectation names, columns, counts; no values).

For microdata the requirement is the profile's ``PrivacyRequirement``
(``transforms.privacy_requirement``), ``tightened`` by the recipient; its ``gx_parameters``
fill the suite, so the gate checks exactly what the engine searched for.

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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from pipeline.release.report_gate import ReportCheck, gate_view, read_internal, report_problems
from pipeline.settings.partners import PartnerRegistry, Recipient
from pipeline.settings.release_config import PrivacyProfile
from transforms.errors import DataError
from transforms.privacy_requirement import PrivacyRequirement, RequirementError
from transforms.release_order import is_canonical

if TYPE_CHECKING:
    from expectations.validation import ValidationOutcome, Validator

PROFILE_FAILED = "privacy profile failed: nothing of this run is published"


@dataclass(frozen=True)
class CandidateDataset:
    """A file the run wants to publish (Parquet, or CSV as the lead's pipeline writes)."""

    name: str
    path: Path
    kind: Literal["microdata", "table", "report"]
    qi: tuple[str, ...] = ()
    sensitive: str | None = None
    count_column: str | None = None
    # Each column's label order for the canonical row order (others sort as text).
    label_orders: Mapping[str, Sequence[str]] | None = None
    # A report table of the catalogue: how it was protected (pipeline.release.report_gate).
    report: ReportCheck | None = None


@dataclass(frozen=True)
class TableRequirement:
    """What a count table must meet: a minimum published count per cell."""

    min_cell_count: int

    def label(self) -> str:
        return f"min_cell_count={self.min_cell_count}"


@dataclass(frozen=True)
class ReportRequirement:
    """A report table's protection as built (its method and minimum, if suppressed)."""

    method: str
    min_contributors: int

    def label(self) -> str:
        if self.method == "suppress":
            return f"suppress:min_contributors={self.min_contributors}"
        return self.method


# What one validation enforces: the profile's, or the profile tightened by a recipient.
Requirement = PrivacyRequirement | TableRequirement | ReportRequirement


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
    if candidate.report is not None:
        return ReportRequirement(candidate.report.method, candidate.report.min_contributors)
    if candidate.kind == "table":
        return TableRequirement(profile.min_cell_count)
    requirement = profile.requirement
    if candidate.sensitive is not None and candidate.sensitive != requirement.sensitive:
        requirement = requirement.model_copy(update={"sensitive": candidate.sensitive})
    return requirement


def _recipient_requirement(base: Requirement, recipient: Recipient) -> Requirement:
    """``base`` at least as strict as the recipient's minimums (raises ``RequirementError``
    when ``min_l`` meets a dataset without a sensitive column)."""
    if isinstance(base, ReportRequirement):
        return base  # built at the strictest minimum of its recipients (checked in _Checker)
    if isinstance(base, TableRequirement):
        return TableRequirement(max(base.min_cell_count, recipient.min_cell_count))
    return base.tightened(min_k=recipient.min_k, min_l=recipient.min_l)


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
    if candidate.report is not None or isinstance(req, ReportRequirement):
        if candidate.report is None:
            raise UnreadableDatasetError(f"{candidate.name}: a report table without its check")
        return gate_view(read_internal(candidate.report), candidate.report)[1]
    if isinstance(req, TableRequirement):
        if not candidate.count_column:
            from expectations.validation import SuiteConfigError

            raise SuiteConfigError("released_tables", f"{candidate.name}: count_column not set")
        return {"count_column": candidate.count_column, "min_cell_count": req.min_cell_count}
    return {
        "qi": list(candidate.qi or profile.quasi_identifiers),
        # The pipeline removed suppressed records before writing the candidate: a row whose
        # every QI is ``*`` is a released record and must be in the k/l/t checks.
        "suppression_marker": None,
        **req.gx_parameters(),
    }


def _reasons(
    candidate: CandidateDataset, req: Requirement, outcome: ValidationOutcome
) -> list[str]:
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
        self.internals: dict[str, pd.DataFrame] = {}
        self.cache: dict[tuple[str, Requirement], list[str]] = {}
        self.checks: list[dict[str, Any]] = []

    def internal(self, candidate: CandidateDataset) -> pd.DataFrame:
        """A report table's internal copy (contributors, flags), read once per gate."""
        assert candidate.report is not None
        if candidate.name not in self.internals:
            self.internals[candidate.name] = read_internal(candidate.report)
        return self.internals[candidate.name]

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
            frame = self.frames[candidate.name]
            extra: list[str] = []
            if candidate.report is not None:  # its internal copy, read and viewed once
                internal = self.internal(candidate)
                extra = report_problems(candidate.name, frame, internal, candidate.report)
                frame, parameters = gate_view(internal, candidate.report)
            else:
                parameters = _parameters(candidate, self.profile, req)
            outcome = self.validator.run(
                frame,
                suite=suite_for(candidate),
                parameters=parameters,
                label=f"{candidate.name}.{re.sub(r'[^A-Za-z0-9=._-]+', '_', req.label())}",
            )
            reasons = _reasons(candidate, req, outcome) + extra
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
    receives: Callable[[Recipient, CandidateDataset], bool] | None = None,
) -> ReleaseDecision:
    """Decide, per recipient, which candidate datasets it may receive (see the module doc).

    ``receives`` says which candidates a recipient's agreement covers (default: the
    candidate's name is one of its allowed datasets).
    """
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
            datasets = [
                c
                for c in candidates
                if (receives(recipient, c) if receives else recipient.allows(c.name))
            ]
            reasons: list[str] = []
            for candidate in datasets:
                base = _profile_requirement(candidate, profile)
                try:
                    req = _recipient_requirement(base, recipient)
                except RequirementError:
                    reasons.append(f"{candidate.name}: min_l needs a sensitive column")
                    continue
                report = candidate.report
                if (
                    report is not None
                    and report.method == "suppress"
                    and recipient.min_cell_count > report.min_contributors
                ):
                    reasons.append(
                        f"{candidate.name}: suppressed at {report.min_contributors} contributors,"
                        f" below this recipient's minimum of {recipient.min_cell_count}"
                    )
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
