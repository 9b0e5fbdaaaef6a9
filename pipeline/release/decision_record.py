"""The gate's decision as it is persisted between validate_release and publish (typed).

Publish reads this record back through the model, never by string keys: a field renamed on
one side fails at once with the field named, instead of publishing on a missing key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.settings.storage import write_private

DECISION_FILE = "release_decision.json"


class CheckRecord(BaseModel):
    """One (dataset, requirement) validation the gate ran."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    requirement: str
    passed: bool
    rows: int | None
    failures: int


class DecisionRecord(BaseModel):
    """Who may receive what, the checks behind it, and the sha256 of every checked file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: dict[str, list[str]]
    blocked: dict[str, list[str]]
    profile_failures: list[str]
    docs_index: str | None
    checks: list[CheckRecord]
    sha256: dict[str, str]
    # What each dataset was built and checked with (for the manifest: the real parameters).
    parameters: dict[str, dict[str, object]] = {}
    # Per recipient and candidate: held by the differencing gate (why), or not due this
    # night because the recipient already has this period (when the next one goes out).
    held: dict[str, dict[str, str]] = {}
    not_due: dict[str, dict[str, str]] = {}
    # Per recipient and dataset: refused by law or agreement (the agreement not in force on
    # the run date; anonymously processed information without its published notice).
    refused: dict[str, dict[str, str]] = {}

    def write(self, reports_dir: Path) -> Path:
        path = reports_dir / DECISION_FILE
        write_private(path, self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def read(cls, reports_dir: Path) -> DecisionRecord:
        return cls.model_validate_json((reports_dir / DECISION_FILE).read_text())
