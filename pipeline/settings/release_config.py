"""Typed, validated configuration: the release profile and where things live.

A wrong config fails at load with the field named (pydantic), never halfway through a run.
Locations can be overridden by environment variables so that the same file serves a laptop
demo (SQLite, local folders) and production (PostgreSQL, object storage).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from pipeline.settings.paths import (
    DEFAULT_CONFIG,
    DEFAULT_PARTNERS,
    DEFAULT_RELEASE_ROOT,
    DEFAULT_SOURCE_DB,
    DEFAULT_WORKDIR,
    HIERARCHY_DIR,
)
from pipeline.settings.secrets import redact_url
from pipeline.sources.schema import CONSENT_PURPOSES
from transforms.errors import ConfigurationError
from transforms.hierarchy import HierarchyError, find_hierarchies
from transforms.options import EntropyEstimator, LVariant, MetricName, TDistance
from transforms.privacy_requirement import PrivacyRequirement, RequirementError


class ConfigError(ConfigurationError):
    """The configuration file is missing or invalid; the message names the file and field."""


# The requirement's fields (transforms.privacy_requirement) as the profile's flat YAML keys.
_PROFILE_KEYS = {
    "l_diversity.l": "l",
    "l_diversity.variant": "l_variant",
    "l_diversity.c": "c",
    "l_diversity.estimator": "entropy_estimator",
    "t_closeness.t": "t",
    "t_closeness.distance": "t_distance",
    # The profile configures no hierarchy of the sensitive column yet: hierarchical
    # t-closeness is refused at load rather than failing every night at the gate.
    "t_closeness.hierarchy": "t_distance",
}


class PrivacyProfile(BaseModel):
    """The guarantees every dataset of a run must meet before any recipient is considered.

    The privacy keys stay flat for the YAML's readers (``l``, ``l_variant``, ``c``, ...);
    ``requirement`` is their one typed form, validated at load with the key named.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    quasi_identifiers: tuple[str, ...] = Field(min_length=1)
    sensitive: str | None = None
    k: int = Field(ge=2)
    # Ranges of l, c and t are the requirement's (whole l >= 2 for distinct and recursive,
    # l > 1 for entropy): checked there, once.
    l: int | float | None = None  # noqa: E741 - the privacy model's name
    l_variant: LVariant = "distinct"
    c: float | None = None
    entropy_estimator: EntropyEstimator = "shannon"  # used by the entropy variant only
    t: float | None = None
    t_distance: TDistance = "equal"
    suppression_limit: float = Field(ge=0, le=1)
    metric: MetricName = "nu-entropy"
    min_cell_count: int = Field(ge=1)
    # ARX's utility levers for the microdata search (transforms.anonymize): a weight per QI
    # (its loss counts w / max(w); unnamed QIs 0.5, as in ARX) and inclusive level bounds
    # per QI, levels counted in the shipped hierarchy (0 = the value itself).
    weights: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None
    min_levels: dict[str, Annotated[int, Field(ge=0, strict=True)]] | None = None
    max_levels: dict[str, Annotated[int, Field(ge=0, strict=True)]] | None = None

    @model_validator(mode="after")
    def _levers_are_valid(self) -> PrivacyProfile:
        """Weights and bounds name QIs, fit the shipped hierarchies and leave a box."""
        for field in ("weights", "min_levels", "max_levels"):
            for column in getattr(self, field) or {}:
                if column not in self.quasi_identifiers:
                    raise ValueError(f"{field}.{column}: not one of quasi_identifiers")
        if self.weights and self.metric in ("discernibility", "discernibility-nm", "aecs"):
            raise ValueError(f"weights: metric {self.metric!r} has no per-attribute loss to weight")
        bounded = sorted({*(self.min_levels or {}), *(self.max_levels or {})})
        if bounded:
            try:
                trees = find_hierarchies(HIERARCHY_DIR, columns=bounded)
            except HierarchyError:
                raise ValueError(
                    f"min_levels/max_levels: no shipped hierarchy for one of {bounded}"
                ) from None
            for column in bounded:
                top = trees[column].height - 1
                low = (self.min_levels or {}).get(column, 0)
                high = (self.max_levels or {}).get(column, top)
                for field, level in (("min_levels", low), ("max_levels", high)):
                    if level > top:
                        raise ValueError(
                            f"{field}.{column}: level {level} outside the hierarchy's "
                            f"levels 0..{top}"
                        )
                if low > high:
                    raise ValueError(
                        f"min_levels.{column}: {low} is above max_levels.{column} {high}"
                    )
        return self

    @model_validator(mode="after")
    def _requirement_is_valid(self) -> PrivacyProfile:
        try:
            self._requirement()
        except RequirementError as exc:
            raise ValueError(
                "; ".join(f"{_PROFILE_KEYS.get(f, f)}: {p}" for f, p in exc.problems)
            ) from None
        return self

    def _requirement(self) -> PrivacyRequirement:
        diversity: dict[str, Any] | None = None
        if self.l is not None:
            diversity = {"variant": self.l_variant, "l": self.l}
            if self.l_variant == "entropy":
                diversity["estimator"] = self.entropy_estimator
            if self.c is not None:
                diversity["c"] = self.c
        elif self.c is not None:
            raise RequirementError(
                [("l_diversity.c", "only recursive l-diversity takes c; l is not set")]
            )
        closeness = None if self.t is None else {"t": self.t, "distance": self.t_distance}
        return PrivacyRequirement(
            k=self.k, sensitive=self.sensitive, l_diversity=diversity, t_closeness=closeness
        )

    @property
    def requirement(self) -> PrivacyRequirement:
        """The profile's privacy requirement (k, l-diversity, t-closeness)."""
        return self._requirement()


class Bounds(BaseModel):
    """An inclusive range of whole numbers: ``{min: 0, max: 1000000}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class Plausibility(BaseModel):
    """What a raw value may be before its row is quarantined (validate_raw, raw suites).

    An amount of 10^12 yen or a satisfaction score of 7 is a broken row, not a fact to
    publish: such rows are quarantined with the field and rule named, like any other.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # One visit: the dearest course (bridal) is a few hundred thousand yen.
    amount_yen: Bounds = Bounds(min=0, max=1_000_000)
    satisfaction: Bounds = Bounds(min=1, max=5)

    @model_validator(mode="after")
    def _no_negative_amounts(self) -> Plausibility:
        if self.amount_yen.min < 0:
            raise ValueError("amount_yen.min must be 0 or more")
        return self

    def suite_parameters(self) -> dict[str, int]:
        """The raw suites' parameters (``raw_usage``, ``raw_questionnaires``)."""
        return {
            "amount_yen_min": self.amount_yen.min,
            "amount_yen_max": self.amount_yen.max,
            "satisfaction_min": self.satisfaction.min,
            "satisfaction_max": self.satisfaction.max,
        }


# The purpose whose consent every statistical use needs: a customer whose latest statistics
# consent is withdrawn is left out of the whole run (transforms.customer_requests).
STATISTICS_PURPOSE = "statistics"
# The recipient kind of the company's own use; every other kind is a third party.
INTERNAL_KIND = "internal"
# Purposes no statistical release can serve (they are about the salon's own service and mail).
_NOT_STATISTICAL = ("service", "mail_magazine")


class ConsentPolicy(BaseModel):
    """Which consent purpose each recipient kind's datasets serve (purpose-bound consent).

    A customer is in a recipient's datasets only where their latest consent for the kind's
    purpose is granted (a purpose listed in ``granted_without_record`` also counts a customer
    who never recorded a choice). Every third-party kind must name the same purpose: one
    version of a dataset goes to all its recipients, and two versions over populations that
    differ by the customers who consented to one purpose and not the other could be
    subtracted to single those customers out.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    purposes: dict[str, str] = {
        INTERNAL_KIND: STATISTICS_PURPOSE,
        "cooperative_business": "partner_marketing",
        "advertising_sponsor": "partner_marketing",
        "contractor": "partner_marketing",
    }
    # The shipped config's choice (data/config/release.yaml says why); without partner_marketing
    # here a third-party dataset needs an explicit grant.
    granted_without_record: tuple[str, ...] = (STATISTICS_PURPOSE, "partner_marketing")

    @model_validator(mode="after")
    def _one_third_party_purpose(self) -> ConsentPolicy:
        for kind, purpose in sorted(self.purposes.items()):
            if purpose not in CONSENT_PURPOSES or purpose in _NOT_STATISTICAL:
                allowed = [p for p in CONSENT_PURPOSES if p not in _NOT_STATISTICAL]
                raise ValueError(f"purposes.{kind}: {purpose!r} is not one of {allowed}")
        for purpose in self.granted_without_record:
            if purpose not in CONSENT_PURPOSES:
                raise ValueError(
                    f"granted_without_record: {purpose!r} is not one of {list(CONSENT_PURPOSES)}"
                )
        third = sorted({p for k, p in self.purposes.items() if k != INTERNAL_KIND})
        if len(third) > 1:
            raise ValueError(
                f"purposes: third-party kinds name different purposes {third}; they must name "
                "one (a dataset has one version for all its recipients)"
            )
        return self

    def purpose_for(self, kind: str) -> str:
        """The purpose a recipient kind's datasets serve; KeyError if the kind has none."""
        return self.purposes[kind]

    def flag_purposes(self) -> tuple[str, ...]:
        """The purposes a customer needs a flag for (statistics holds for the whole run)."""
        return tuple(sorted({p for p in self.purposes.values() if p != STATISTICS_PURPOSE}))


# An analyst's epsilon per calendar year when the configuration names none.
DEFAULT_ANALYST_BUDGET = 3.0


class DifferentialPrivacy(BaseModel):
    """The DP budgets (``dp:``): what the analysts' DP reports may spend.

    ``analyst_budget`` is the epsilon each analyst (``anonrelease report --recipient``, the
    ``analyst_report`` DAG's ``recipient``) may spend per calendar year, composed over all their
    DP reports of that year (``pipeline.release.budget_ledger``); it must be positive.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    analyst_budget: float = Field(default=DEFAULT_ANALYST_BUDGET, gt=0, allow_inf_nan=False)


class ReleaseConfig(BaseModel):
    """Everything a run needs besides its date and its secrets.

    ``source_url`` may carry the database password (from ``ANONRELEASE_SOURCE_URL``): it is
    kept in memory as loaded, and every serialization (the pinned ``config.json`` of a run)
    writes it redacted (``postgresql+psycopg://alice:***@host/salon``). Extract, the only
    step that reads the source, uses the configuration it was started with, never the pin.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_url: str
    workdir: Path
    release_root: str
    partners: Path
    timezone: str = "Asia/Tokyo"
    quarantine_threshold: float = Field(default=0.05, ge=0, le=1)
    plausibility: Plausibility = Plausibility()
    profile: PrivacyProfile
    consent: ConsentPolicy = ConsentPolicy()
    dp: DifferentialPrivacy = DifferentialPrivacy()
    # The provision ledger (pipeline.release.ledger): any SQLAlchemy URL; None means SQLite
    # in the workdir. ANONRELEASE_LEDGER_URL overrides it (put a password there, not here:
    # the pinned config.json shows it redacted, and publish reads the pin).
    ledger_url: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        """An IANA time zone the system knows; a typo would otherwise fail later, unaudited."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {value!r} (expected an IANA name such as Asia/Tokyo)"
            ) from None
        return value

    @field_serializer("source_url", "ledger_url")
    def _redacted(self, url: str | None) -> str | None:
        return None if url is None else redact_url(url)


_ENV_OVERRIDES = {
    "source_url": "ANONRELEASE_SOURCE_URL",
    "workdir": "ANONRELEASE_WORKDIR",
    "release_root": "ANONRELEASE_RELEASE_ROOT",
    "partners": "ANONRELEASE_PARTNERS",
}

_DEFAULTS = {
    "source_url": f"sqlite:///{DEFAULT_SOURCE_DB}",
    "workdir": str(DEFAULT_WORKDIR),
    "release_root": str(DEFAULT_RELEASE_ROOT),
    "partners": str(DEFAULT_PARTNERS),
}


def config_file(path: str | Path | None = None) -> Path:
    """The config file a load reads: ``path``, else ANONRELEASE_CONFIG, else the default."""
    return Path(path or os.environ.get("ANONRELEASE_CONFIG") or DEFAULT_CONFIG)


def yaml_problem(exc: yaml.YAMLError, /) -> str:
    """What is wrong with a YAML file and where, without quoting its text.

    PyYAML's own message shows the offending lines, and a config line may hold a password.
    """
    problem = getattr(exc, "problem", None) or "cannot be parsed"
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return str(problem)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


def load_config(path: str | Path | None = None) -> ReleaseConfig:
    """Load the release config; ANONRELEASE_CONFIG, then the shipped default, if no path."""
    config_path = config_file(path)
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{config_path}: configuration file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")
    for field, env in _ENV_OVERRIDES.items():
        raw[field] = os.environ.get(env) or raw.get(field) or _DEFAULTS[field]
    try:
        return ReleaseConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        # from None: pydantic's own text quotes each input value (a password, a path)
        raise ConfigError(f"{config_path}: {problems}") from None
