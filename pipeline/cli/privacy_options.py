"""The privacy options ``anonymize``, ``check`` and ``validate`` share, and where they become
one ``PrivacyRequirement``.

The choices are enums derived from the engine's vocabularies (``transforms.options``), so a
new metric or distance reaches every command at once. Ranges and combinations are not
checked here but by the requirement itself (``transforms.privacy_requirement``); its error
comes back naming the option, as a one-line usage error (exit 2).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from transforms.errors import EXIT_CONFIGURATION, ConfigurationError
from transforms.options import (
    ENTROPY_ESTIMATORS,
    L_VARIANTS,
    METRIC_NAMES,
    SEARCH_METHODS,
    T_DISTANCES,
)
from transforms.privacy_requirement import PrivacyRequirement, RequirementError

# Typer's choices, one member per word of the vocabulary (member name = value). The members
# come from the vocabularies at run time, which mypy cannot see (hence the ignores).
LVariant = StrEnum("LVariant", {v: v for v in L_VARIANTS})  # type: ignore[misc]
Estimator = StrEnum("Estimator", {v: v for v in ENTROPY_ESTIMATORS})  # type: ignore[misc]
TDistance = StrEnum("TDistance", {v: v for v in T_DISTANCES})  # type: ignore[misc]
MetricName = StrEnum("MetricName", {v: v for v in METRIC_NAMES})  # type: ignore[misc]
Method = StrEnum("Method", {v: v for v in SEARCH_METHODS})  # type: ignore[misc]

SensitiveOption = Annotated[
    str | None, typer.Option("--sensitive", help="Sensitive column for l-diversity / t-closeness.")
]
KOption = Annotated[int | None, typer.Option("--k", help="Minimum class size (k-anonymity).")]
LOption = Annotated[
    float | None,
    typer.Option("--l", help="l-diversity on --sensitive (whole for distinct and recursive)."),
]
LVariantOption = Annotated[LVariant, typer.Option("--l-variant")]
COption = Annotated[float | None, typer.Option("--c", help="c of recursive (c, l)-diversity.")]
EstimatorOption = Annotated[
    Estimator, typer.Option("--entropy-estimator", help="Estimator of entropy l-diversity.")
]
TOption = Annotated[
    float | None, typer.Option("--t", help="t-closeness on --sensitive, in (0, 1].")
]
TDistanceOption = Annotated[TDistance, typer.Option("--t-distance")]

DEFAULT_L_VARIANT = LVariant("distinct")
DEFAULT_ESTIMATOR = Estimator("shannon")
DEFAULT_T_DISTANCE = TDistance("equal")
DEFAULT_METRIC = MetricName("nu-entropy")
DEFAULT_METHOD = Method("optimal")

# The requirement's fields as the options that set them.
OPTION_OF_FIELD = {
    "k": "--k",
    "sensitive": "--sensitive",
    "l_diversity.l": "--l",
    "l_diversity.variant": "--l-variant",
    "l_diversity.c": "--c",
    "l_diversity.estimator": "--entropy-estimator",
    "t_closeness.t": "--t",
    "t_closeness.distance": "--t-distance",
    "t_closeness.hierarchy": "--hierarchies",
}


class PrivacyOptionError(ConfigurationError):
    """Privacy options that make no valid requirement; ``option`` names the first wrong one."""

    def __init__(self, option: str, problem: str) -> None:
        self.option, self.problem = option, problem
        super().__init__(f"{option}: {problem}")


def usage_error(exc: PrivacyOptionError, /) -> NoReturn:
    """Print the error on one line and exit 2, as a usage error does."""
    typer.echo(f"usage error: {exc}", err=True)
    raise typer.Exit(EXIT_CONFIGURATION)


def requirement_from_options(
    *,
    k: int | None,
    sensitive: str | None,
    l: float | None,  # noqa: E741 - the option's name
    l_variant: StrEnum,
    c: float | None,
    entropy_estimator: StrEnum,
    t: float | None,
    t_distance: StrEnum,
    hierarchies: Path | None = None,
) -> PrivacyRequirement:
    """The requirement the options ask for; ``PrivacyOptionError`` names a wrong option.

    ``--entropy-estimator`` is read by the entropy variant only (it has a default); ``--c``
    is refused unless the variant is recursive. The hierarchical distance takes the
    sensitive column's ``*_hierarchy_<column>.csv`` from ``hierarchies``.
    """
    diversity: dict[str, Any] | None = None
    if l is not None:
        diversity = {"variant": l_variant.value, "l": l}
        if l_variant.value == "entropy":
            diversity["estimator"] = entropy_estimator.value
        if c is not None:
            diversity["c"] = c
    elif c is not None:
        raise PrivacyOptionError("--c", "only recursive l-diversity takes c; --l is not set")
    closeness: dict[str, Any] | None = None
    if t is not None:
        closeness = {"t": t, "distance": t_distance.value}
        if t_distance.value == "hierarchical" and hierarchies is not None and sensitive:
            from transforms.hierarchy import MissingHierarchyError, hierarchy_file

            try:
                closeness["hierarchy"] = str(hierarchy_file(hierarchies, column=sensitive))
            except MissingHierarchyError as exc:
                raise PrivacyOptionError("--hierarchies", str(exc)) from None
    try:
        return PrivacyRequirement(
            k=k, sensitive=sensitive, l_diversity=diversity, t_closeness=closeness
        )
    except RequirementError as exc:
        raise PrivacyOptionError(OPTION_OF_FIELD.get(exc.field, exc.field), exc.problem) from None
