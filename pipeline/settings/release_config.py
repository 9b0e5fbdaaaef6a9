"""Typed, validated configuration: the release profile and where things live.

A wrong config fails at load with the field named (pydantic), never halfway through a run.
Locations can be overridden by environment variables so that the same file serves a laptop
demo (SQLite, local folders) and production (PostgreSQL, object storage).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.settings.paths import (
    DEFAULT_CONFIG,
    DEFAULT_PARTNERS,
    DEFAULT_RELEASE_ROOT,
    DEFAULT_SOURCE_DB,
    DEFAULT_WORKDIR,
)
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


class ReleaseConfig(BaseModel):
    """Everything a run needs besides its date and its secrets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_url: str
    workdir: Path
    release_root: str
    partners: Path
    timezone: str = "Asia/Tokyo"
    quarantine_threshold: float = Field(default=0.05, ge=0, le=1)
    profile: PrivacyProfile

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


def load_config(path: str | Path | None = None) -> ReleaseConfig:
    """Load the release config; ANONRELEASE_CONFIG, then the shipped default, if no path."""
    config_path = config_file(path)
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{config_path}: configuration file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
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
        raise ConfigError(f"{config_path}: {problems}") from exc
