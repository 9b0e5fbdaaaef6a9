"""The partner registry: who may receive which datasets, and at what minimum protection.

``data/partners.yaml`` lists the recipients (cooperative businesses, advertising sponsors,
contractors). It is validated on load: a wrong file fails with the file and field named, never
halfway through a release; given the run's dataset names, an ``allowed_datasets`` entry that
names no dataset fails too (a typo would silently give that recipient nothing). A recipient's
minimums only tighten the run's privacy profile.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.settings.paths import DEFAULT_PARTNERS
from pipeline.settings.release_config import yaml_problem
from transforms.errors import ConfigurationError
from transforms.periods import Cadence

RecipientKind = Literal["cooperative_business", "advertising_sponsor", "contractor"]


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
    min_k: int = Field(ge=2)
    min_l: int | None = Field(default=None, ge=2)
    min_cell_count: int = Field(ge=1)
    allowed_datasets: tuple[str, ...] = Field(min_length=1)
    # How often each dataset may be released to this recipient (its series' period); a
    # dataset not listed follows the catalogue's default cadence.
    cadence: dict[str, Cadence] = Field(default_factory=dict)

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
    path: str | Path | None = None, known_datasets: Collection[str] | None = None
) -> PartnerRegistry:
    """Load and validate the registry (the shipped ``data/partners.yaml`` by default).

    With ``known_datasets`` every ``allowed_datasets`` entry must be one of them.
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
    return registry


def _check_datasets(file: Path, registry: PartnerRegistry, known: Collection[str]) -> None:
    """Every allowed dataset of every recipient must be a dataset the run produces."""
    known_names = frozenset(known)
    unknown = [
        f"recipient {r.id!r}: allowed_datasets names unknown dataset {name!r}"
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
