"""Where one run's files live. Every output is keyed by the run date, so a rerun overwrites
its own files and nothing else (idempotent), and two runs never share a file.

A run pins its configuration: extract copies the release config and the partner registry
into the run folder, and every later step reads them from there, so a config edited while a
night is running (or between retries) cannot mix two privacy profiles in one release.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pipeline.run import step_reports
from pipeline.run.step_reports import StepReport
from pipeline.settings.release_config import ReleaseConfig
from pipeline.settings.storage import private_dir, write_private
from transforms.errors import InternalError

ZONES = (
    "raw",
    "clean",
    "quarantine",
    "deidentified",
    "anonymized",
    "candidates",
    "reports",
    "docs",
)
PINNED_CONFIG = "config.json"
R = TypeVar("R", bound=StepReport)
PINNED_PARTNERS = "partners.yaml"


class UnknownZoneError(InternalError, ValueError):
    def __init__(self, zone: str) -> None:
        super().__init__(f"unknown zone {zone!r}; expected one of {ZONES}")
        self.zone = zone


@dataclass(frozen=True)
class RunContext:
    """A run is identified by its date (the logical date in the configured time zone)."""

    run_date: date
    config: ReleaseConfig

    @property
    def run_id(self) -> str:
        return self.run_date.isoformat()

    @property
    def run_dir(self) -> Path:
        return Path(self.config.workdir) / self.run_id

    def zone(self, name: str) -> Path:
        """A run's folder for one stage (created on first use)."""
        if name not in ZONES:
            raise UnknownZoneError(name)
        return private_dir(self.run_dir / name)

    def reset(self) -> None:
        """Remove everything an earlier attempt of this run left in the work folder."""
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        private_dir(self.run_dir)

    def pin(self) -> RunContext:
        """Copy the config and partner registry into the run folder; return the pinned run."""
        partners = self.run_dir / PINNED_PARTNERS
        write_private(partners, Path(self.config.partners).read_bytes())
        pinned = self.config.model_copy(update={"partners": partners})
        write_private(self.run_dir / PINNED_CONFIG, pinned.model_dump_json(indent=2) + "\n")
        return RunContext(run_date=self.run_date, config=pinned)

    def pinned(self) -> RunContext:
        """This run with the config pinned at extract (unchanged if nothing is pinned yet)."""
        path = self.run_dir / PINNED_CONFIG
        if not path.exists():
            return self
        return RunContext(
            run_date=self.run_date, config=ReleaseConfig.model_validate_json(path.read_text())
        )

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> RunContext:
        """The pinned run a folder holds (its name is the run date; its config was pinned)."""
        folder = Path(run_dir)
        config = ReleaseConfig.model_validate_json((folder / PINNED_CONFIG).read_text())
        return cls(run_date=date.fromisoformat(folder.name), config=config)

    def write_report(self, report: StepReport) -> Path:
        """Persist a step's report for the run summary and the audit trail (typed)."""
        return step_reports.write_report(self.zone("reports"), report)

    def read_report(self, model: type[R]) -> R | None:
        """The step's report as its model (None if the step has not written one)."""
        return step_reports.read_report(self.run_dir / "reports", model)

    def require_report(self, model: type[R]) -> R:
        """The step's report as its model; ``MissingReport`` if the step has not run."""
        return step_reports.require_report(self.run_dir / "reports", model)


def context_for_logical_date(logical_date: Any, config: ReleaseConfig | None = None) -> RunContext:
    """The run a scheduler's logical date stands for: its calendar date in the config's zone."""
    from zoneinfo import ZoneInfo

    from pipeline.settings.release_config import load_config

    config = config or load_config()
    local = logical_date.astimezone(ZoneInfo(config.timezone))
    return RunContext(run_date=local.date(), config=config)
