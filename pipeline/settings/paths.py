"""Where the shipped reference data and the laptop defaults live (one place for every path).

Everything here is relative to the repository, so a clone anywhere runs the demo; production
points the run elsewhere by configuration (``pipeline.settings.release_config``).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
DAGS_DIR = REPO_ROOT / "dags"
HIERARCHY_DIR = DATA_DIR / "hierarchies"
REFERENCE_DIR = DATA_DIR / "reference"
PTABLE_DIR = DATA_DIR / "ptables"
DEFAULT_CONFIG = DATA_DIR / "config" / "release.yaml"
DEFAULT_PARTNERS = DATA_DIR / "partners.yaml"
DEFAULT_SOURCE_DB = DATA_DIR / "demo" / "source.sqlite"
DEFAULT_WORKDIR = DATA_DIR / "warehouse"
DEFAULT_RELEASE_ROOT = DATA_DIR / "releases"
