"""The partner registry: agreements as code. Who may receive which datasets, under which
agreement and for how long, at what minimum protection, in which file format, where.

``data/partners.yaml`` lists the recipients (cooperative businesses, advertising sponsors,
contractors, internal departments). It is validated on load: a wrong file fails with the file,
the entry and the field named, never halfway through a release. Given the run's dataset names,
an ``allowed_datasets`` entry that names no dataset fails too (a typo would silently give that
recipient nothing), and a dataset the catalogue marks internal-only (web access statistics)
named by a recipient that is not ``internal`` fails. A recipient's minimums only tighten the
run's privacy profile.

An agreement is in force from ``valid_from`` to ``valid_until`` inclusive
(:meth:`Recipient.agreement_problem`); outside it the recipient receives nothing, and the gate
says why. ``purposes`` are what the agreement permits the recipient to use the data for (the
consent check, issue #12, matches them to the customers' consent). ``destination`` is any
fsspec URL (the release root of the run's configuration when absent): the recipient's
releases are written under ``<destination>/<id>/<run>/``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.settings.paths import DEFAULT_PARTNERS
from pipeline.settings.release_config import yaml_problem
from transforms.errors import ConfigurationError
from transforms.periods import Cadence

RecipientKind = Literal["cooperative_business", "advertising_sponsor", "contractor", "internal"]
# How a recipient's files are written: Parquet, or CSV in UTF-8, UTF-8 with a byte order mark
# (spreadsheets recognise it) or Shift_JIS (cp932, for spreadsheet users in Japan).
FileFormat = Literal["parquet", "csv-utf8", "csv-utf8-bom", "csv-cp932"]
FILE_FORMATS: tuple[str, ...] = ("parquet", "csv-utf8", "csv-utf8-bom", "csv-cp932")


class PartnerRegistryError(ConfigurationError):
    """The partner file is missing or invalid; the message names the file and field."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class Recipient(BaseModel):
    """One recipient and the minimum protection it requires."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    kind: RecipientKind
    # The agreement this provision is made under (its reference in the contract register).
    agreement: str = Field(min_length=1)
    valid_from: date
    valid_until: date
    purposes: tuple[str, ...] = Field(min_length=1)
    format: FileFormat = "csv-utf8"
    destination: str | None = Field(default=None, min_length=1)
    min_k: int = Field(ge=2)
    min_l: int | None = Field(default=None, ge=2)
    min_cell_count: int = Field(ge=1)
    allowed_datasets: tuple[str, ...] = Field(min_length=1)
    # How often each dataset may be released to this recipient (its series' period); a
    # dataset not listed follows the catalogue's default cadence.
    cadence: dict[str, Cadence] = Field(default_factory=dict)

    @field_validator("purposes")
    @classmethod
    def _purposes_once(cls, purposes: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(purposes)) != len(purposes) or not all(p.strip() for p in purposes):
            raise ValueError("each purpose once, none empty")
        return purposes

    @field_validator("destination")
    @classmethod
    def _fsspec_url(cls, destination: str | None) -> str | None:
        """A local path or an fsspec URL whose protocol fsspec knows (not connected)."""
        if destination is None or "://" not in destination:
            return destination
        import fsspec

        protocol = destination.split("://", 1)[0]
        if protocol not in fsspec.available_protocols():
            raise ValueError(f"unknown fsspec protocol {protocol!r}")
        return destination

    @model_validator(mode="after")
    def _period_in_order(self) -> Recipient:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until: before valid_from")
        return self

    def agreement_problem(self, on: date) -> str | None:
        """Why the agreement does not cover ``on`` (None when it is in force)."""
        if on < self.valid_from:
            return f"agreement {self.agreement} not yet in force on {on} (from {self.valid_from})"
        if on > self.valid_until:
            return f"agreement {self.agreement} expired on {self.valid_until} (run date {on})"
        return None

    def destination_root(self, default: str) -> str:
        """Where this recipient's releases go: its destination, else the run's release root."""
        return self.destination or default

    def allows(self, dataset: str) -> bool:
        return dataset in self.allowed_datasets

    def cadence_for(self, dataset: str, *, default: Cadence) -> Cadence:
        return self.cadence.get(dataset, default)


class PartnerRegistry(BaseModel):
    """All recipients, ids unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipients: tuple[Recipient, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> PartnerRegistry:
        seen: set[str] = set()
        repeated: set[str] = set()
        for r in self.recipients:
            (repeated if r.id in seen else seen).add(r.id)
        duplicates = sorted(repeated)
        if duplicates:
            raise ValueError(f"duplicate recipient ids: {duplicates}")
        return self

    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.recipients)

    def get(self, recipient_id: str) -> Recipient:
        for r in self.recipients:
            if r.id == recipient_id:
                return r
        raise KeyError(recipient_id)

    def allowed(self, dataset: str) -> tuple[Recipient, ...]:
        """Recipients that may receive ``dataset``."""
        return tuple(r for r in self.recipients if r.allows(dataset))


def load_partners(
    path: str | Path | None = None,
    known_datasets: Collection[str] | None = None,
    *,
    internal_only: Collection[str] = (),
) -> PartnerRegistry:
    """Load and validate the registry (the shipped ``data/partners.yaml`` by default).

    With ``known_datasets`` every ``allowed_datasets`` entry must be one of them; a dataset
    in ``internal_only`` may be allowed to ``internal`` recipients only.
    """
    file = Path(path) if path is not None else DEFAULT_PARTNERS
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PartnerRegistryError(file, "partner registry not found") from None
    except yaml.YAMLError as exc:
        raise PartnerRegistryError(file, f"not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise PartnerRegistryError(file, "expected a mapping with 'recipients'")
    try:
        registry = PartnerRegistry.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] == "recipients" and isinstance(loc[1], int):
                entries = raw.get("recipients") or []
                entry = entries[loc[1]] if loc[1] < len(entries) else None
                rid = entry.get("id") if isinstance(entry, dict) else None
                loc[1] = f"{loc[1]}({rid})" if rid else loc[1]
            where = ".".join(str(p) for p in loc) or "recipients"
            problems.append(f"{where}: {err['msg']}")
        raise PartnerRegistryError(file, "; ".join(problems)) from None
    if known_datasets is not None:
        _check_datasets(file, registry, known_datasets)
    _check_internal_only(file, registry, internal_only)
    return registry


def _entry_name(registry: PartnerRegistry, recipient: Recipient) -> str:
    return f"recipients.{registry.recipients.index(recipient)}({recipient.id})"


def _check_internal_only(file: Path, registry: PartnerRegistry, internal: Collection[str]) -> None:
    """Internal-only datasets (web access statistics) go to ``internal`` recipients only."""
    wrong = [
        f"{_entry_name(registry, r)}.allowed_datasets: {name!r} is internal only, "
        f"and the recipient's kind is {r.kind!r}"
        for r in registry.recipients
        for name in r.allowed_datasets
        if name in internal and r.kind != "internal"
    ]
    if wrong:
        raise PartnerRegistryError(file, "; ".join(wrong))


def _check_datasets(file: Path, registry: PartnerRegistry, known: Collection[str]) -> None:
    """Every allowed dataset of every recipient must be a dataset the run produces."""
    known_names = frozenset(known)
    unknown = [
        f"{_entry_name(registry, r)}.allowed_datasets: recipient {r.id!r}: unknown dataset {name!r}"
        for r in registry.recipients
        for name in r.allowed_datasets
        if name not in known_names
    ] + [
        f"recipient {r.id!r}: cadence names dataset {name!r} it is not allowed"
        for r in registry.recipients
        for name in r.cadence
        if name not in r.allowed_datasets
    ]
    if unknown:
        known_text = ", ".join(sorted(known_names)) or "none"
        raise PartnerRegistryError(file, "; ".join(unknown) + f" (known: {known_text})")
