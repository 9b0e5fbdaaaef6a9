"""The engine's option vocabularies, each defined once: a ``Literal`` and its tuple.

The ``Literal`` types the code and the pydantic models (the release profile, the privacy
requirement); the tuple, derived with ``typing.get_args``, gives the command line its choices
and the engine its membership checks. They name things in ``transforms.metrics`` (metrics),
``transforms.anonymize`` (search methods) and ``transforms.privacy_models`` (l-diversity
variants, entropy estimators, t-closeness distances), which re-export them; they live here
because those modules import numpy, pandas and scipy, and ``anonrelease --help`` and the
config loader must not.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ENTROPY_ESTIMATORS",
    "L_VARIANTS",
    "METRIC_NAMES",
    "PROTECTION_METHODS",
    "SEARCH_METHODS",
    "SUPPRESSED",
    "T_DISTANCES",
    "EntropyEstimator",
    "LVariant",
    "MetricName",
    "SearchMethod",
    "TDistance",
]

# The label of a suppressed value (``transforms.anonymize`` writes it, ``check`` skips rows
# whose every QI carries it).
SUPPRESSED = "*"

# Protection methods of a statistical table (transforms.table_protection; a report spec
# names the ones it allows).
PROTECTION_METHODS = ("suppress", "cellkey", "dp")

# Information-loss metrics (definitions: transforms.metrics).
MetricName = Literal[
    "nu-entropy",
    "nu-entropy-nm",
    "discernibility",
    "discernibility-nm",
    "loss",
    "precision",
    "aecs",
]
METRIC_NAMES: tuple[MetricName, ...] = get_args(MetricName)

# Search methods of transforms.anonymize: optimal full-domain generalization, or Mondrian.
SearchMethod = Literal["optimal", "mondrian"]
SEARCH_METHODS: tuple[SearchMethod, ...] = get_args(SearchMethod)

# l-diversity variants (transforms.privacy_models: Distinct/Entropy/RecursiveCLDiversity).
LVariant = Literal["distinct", "entropy", "recursive"]
L_VARIANTS: tuple[LVariant, ...] = get_args(LVariant)

# Entropy estimators of entropy l-diversity.
EntropyEstimator = Literal["shannon", "grassberger"]
ENTROPY_ESTIMATORS: tuple[EntropyEstimator, ...] = get_args(EntropyEstimator)

# Earth mover's distances of t-closeness.
TDistance = Literal["equal", "ordered", "hierarchical"]
T_DISTANCES: tuple[TDistance, ...] = get_args(TDistance)
