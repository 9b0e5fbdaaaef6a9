"""The shipped generalization hierarchies (ARX CSV under data/hierarchies/), loaded by column."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.settings.paths import HIERARCHY_DIR
from transforms.hierarchy import Hierarchy, find_hierarchies

# Quasi-identifiers that tables and the engine generalize through the shipped hierarchies,
# each in HIERARCHY_DIR as ARX names it (``find_hierarchies`` looks for ``*_hierarchy_<col>``).
HIERARCHY_COLUMNS = ("age", "gender", "postal_code")
HIERARCHY_FILE = "customers_hierarchy_{column}.csv"


def shipped_hierarchies(columns: Sequence[str]) -> dict[str, Hierarchy]:
    """The shipped ARX hierarchies for ``columns``."""
    return find_hierarchies(HIERARCHY_DIR, columns=tuple(columns))


def level_labels(tree: Hierarchy, level: int) -> tuple[str, ...]:
    """A level's labels in hierarchy order, each once."""
    return tuple(dict.fromkeys(row[level] for row in tree.levels))
