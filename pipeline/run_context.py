"""Where one run's files live. Every output is keyed by the run date, so a rerun overwrites
its own files and nothing else (idempotent), and two runs never share a file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.config import ReleaseConfig

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
            raise ValueError(f"unknown zone {name!r}; expected one of {ZONES}")
        path = self.run_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_report(self, step: str, report: dict[str, Any]) -> Path:
        """Persist a step's counts for the run summary and the audit trail."""
        path = self.zone("reports") / f"{step}.json"
        path.write_text(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return path

    def read_report(self, step: str) -> dict[str, Any] | None:
        path = self.run_dir / "reports" / f"{step}.json"
        return json.loads(path.read_text()) if path.exists() else None


def context_for_logical_date(logical_date: Any, config: ReleaseConfig | None = None) -> RunContext:
    """The run a scheduler's logical date stands for: its calendar date in the config's zone."""
    from zoneinfo import ZoneInfo

    from pipeline.config import load_config

    config = config or load_config()
    local = logical_date.astimezone(ZoneInfo(config.timezone))
    return RunContext(run_date=local.date(), config=config)
