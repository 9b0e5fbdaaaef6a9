"""Release series: what each recipient received before, and the transformation a series froze.

Kept in the internal work folder (``<workdir>/series/`` and ``<workdir>/received/``), never in a
release. Two records:

- **A series' frozen transformation** (per dataset and cadence): the generalization of the
  series' first release. Later releases reuse it while it still satisfies the privacy models;
  a new optimum each night would let a recipient intersect two differently generalized files.
  When it no longer does, the series is held until an operator resets it (an explicit,
  audited event: ``anonrelease series reset``).
- **What a recipient received** (per recipient, dataset and run): the cut-off, the file's
  sha256 and an internal copy of what was released with the pseudonyms behind each row (for
  microdata) or the true counts behind each cell (for tables). The differencing gate compares
  a new release with the last one the recipient received.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from pipeline.settings.storage import private_dir, write_private

SERIES_DIR = "series"
RECEIVED_DIR = "received"


class FrozenSeries(BaseModel):
    """The transformation a release series keeps, and when it was first released."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    cadence: str
    transformation: dict[str, int]
    first_run: str
    first_cutoff: date


class Received(BaseModel):
    """One provision to one recipient, as the differencing gate needs it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient: str
    dataset: str
    cadence: str
    run_id: str
    cutoff: date
    sha256: str
    transformation: dict[str, int] | None = None  # microdata: the series' generalization


def _series_path(workdir: Path, dataset: str, cadence: str) -> Path:
    return Path(workdir) / SERIES_DIR / dataset / f"{cadence}.json"


def frozen_series(workdir: Path, dataset: str, cadence: str) -> FrozenSeries | None:
    path = _series_path(workdir, dataset, cadence)
    if not path.exists():
        return None
    return FrozenSeries.model_validate_json(path.read_text())


def freeze_series(workdir: Path, series: FrozenSeries) -> Path:
    """Record a series' transformation (the first release does this; later ones keep it).

    A rerun of the first release's own run may record its choice again.
    """
    path = _series_path(workdir, series.dataset, series.cadence)
    private_dir(path.parent)
    current = frozen_series(workdir, series.dataset, series.cadence)
    if current is None or current.first_run == series.first_run:
        write_private(path, series.model_dump_json(indent=2) + "\n")
    return path


def reset_series(workdir: Path, dataset: str, cadence: str) -> bool:
    """Forget a series' transformation: its next release starts a new series."""
    path = _series_path(workdir, dataset, cadence)
    if path.exists():
        path.unlink()
        return True
    return False


def _received_dir(workdir: Path, recipient: str, dataset: str) -> Path:
    return Path(workdir) / RECEIVED_DIR / recipient / dataset


def record_received(workdir: Path, received: Received, content: pd.DataFrame) -> None:
    """Keep what a recipient was given (internal), replacing an earlier attempt of the run."""
    folder = _received_dir(workdir, received.recipient, received.dataset)
    private_dir(folder)
    content.to_parquet(folder / f"{received.run_id}.parquet", index=False)
    write_private(folder / f"{received.run_id}.json", received.model_dump_json(indent=2) + "\n")


def last_received(
    workdir: Path, recipient: str, dataset: str, *, before_run: str
) -> tuple[Received, pd.DataFrame] | None:
    """The latest provision of ``dataset`` to ``recipient`` by a run before ``before_run``."""
    folder = _received_dir(workdir, recipient, dataset)
    if not folder.exists():
        return None
    runs = sorted(p.stem for p in folder.glob("*.json") if p.stem < before_run)
    if not runs:
        return None
    latest = runs[-1]
    record = Received.model_validate(json.loads((folder / f"{latest}.json").read_text()))
    return record, pd.read_parquet(folder / f"{latest}.parquet")
