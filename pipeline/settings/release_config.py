"""Typed, validated configuration: the release profile and where things live.

A wrong config fails at load with the field named (pydantic), never halfway through a run.
Locations can be overridden by environment variables so that the same file serves a laptop
demo (SQLite, local folders) and production (PostgreSQL, object storage).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from pipeline.settings.paths import (
    DEFAULT_CONFIG,
    DEFAULT_PARTNERS,
    DEFAULT_RELEASE_ROOT,
    DEFAULT_SOURCE_DB,
    DEFAULT_WORKDIR,
)
from pipeline.settings.secrets import redact_url
from transforms.errors import ConfigurationError

Metric = Literal[
    "nu-entropy",
    "nu-entropy-nm",
    "discernibility",
    "discernibility-nm",
    "loss",
    "precision",
    "aecs",
]


class ConfigError(ConfigurationError):
    """The configuration file is missing or invalid; the message names the file and field."""


class PrivacyProfile(BaseModel):
    """The guarantees every dataset of a run must meet before any recipient is considered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quasi_identifiers: tuple[str, ...] = Field(min_length=1)
    sensitive: str | None = None
    k: int = Field(ge=2)
    l: int | None = Field(default=None, ge=2)  # noqa: E741 - the privacy model's name
    l_variant: Literal["distinct", "entropy", "recursive"] = "distinct"
    c: float | None = Field(default=None, gt=0)
    entropy_estimator: Literal["shannon", "grassberger"] = "shannon"
    t: float | None = Field(default=None, gt=0, le=1)
    # Hierarchical distance needs a hierarchy of the sensitive column, which the profile
    # does not configure yet: refused at load rather than failing every night at the gate.
    t_distance: Literal["equal", "ordered"] = "equal"
    suppression_limit: float = Field(ge=0, le=1)
    metric: Metric = "nu-entropy"
    min_cell_count: int = Field(ge=1)

    @model_validator(mode="after")
    def _sensitive_needed(self) -> PrivacyProfile:
        if (self.l is not None or self.t is not None) and self.sensitive is None:
            raise ValueError("l-diversity and t-closeness need a 'sensitive' column")
        if self.l_variant == "recursive" and self.l is not None and self.c is None:
            raise ValueError("recursive (c,l)-diversity needs 'c'")
        return self


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

    @field_serializer("source_url")
    def _redacted(self, url: str) -> str:
        return redact_url(url)


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
    config_path = Path(path or os.environ.get("ANONRELEASE_CONFIG") or DEFAULT_CONFIG)
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
