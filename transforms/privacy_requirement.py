"""One privacy requirement (k, l-diversity, t-closeness on one sensitive column), typed once.

Every part of the project that asks for privacy builds this model: the release profile
(``PrivacyProfile.requirement``), the command line (``anonymize``, ``check``, ``validate``),
the GX privacy expectations and the release gate. It makes the engine's models (``models``)
and the ``released_microdata`` suite's parameters (``gx_parameters``), so the search and the
gate cannot read the same numbers two ways.

A wrong combination fails on creation with a :class:`RequirementError` naming the field
(dotted, e.g. ``l_diversity.c``): ``c`` belongs to recursive (c, l)-diversity only and is
required there; distinct and recursive l are whole numbers >= 2, entropy l is a number > 1;
t lies in (0, 1]; the hierarchical distance needs the sensitive column's hierarchy; l and t
need a sensitive column. ``l_diversity`` is a union discriminated by ``variant``.

Examples
--------
>>> r = PrivacyRequirement(k=5, sensitive="disease", l_diversity={"variant": "distinct", "l": 2})
>>> r.label()
'k=5, l=2'
>>> r.tightened(min_k=10).label()
'k=10, l=2'
>>> PrivacyRequirement(sensitive="disease", l_diversity={"variant": "distinct", "l": 2, "c": 3})
Traceback (most recent call last):
...
transforms.privacy_requirement.RequirementError: l_diversity.c: only recursive l-diversity takes c
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from transforms.errors import ConfigurationError
from transforms.options import L_VARIANTS, EntropyEstimator, TDistance

if TYPE_CHECKING:
    from transforms.hierarchy import Hierarchy
    from transforms.privacy_models import PrivacyModel

__all__ = [
    "DistinctL",
    "EntropyL",
    "LDiversity",
    "PrivacyRequirement",
    "RecursiveCL",
    "RequirementError",
    "TClosenessRequirement",
]


class RequirementError(ConfigurationError):
    """An invalid privacy requirement: ``problems`` pairs each wrong field with what is wrong.

    ``field`` is the first of them, dotted (``k``, ``sensitive``, ``l_diversity.l``,
    ``t_closeness.distance``, ...), so a caller can name its own option or YAML key.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        self.field, self.problem = self.problems[0]
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in self.problems))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DistinctL(_Frozen):
    """Distinct l-diversity: at least ``l`` distinct sensitive values in every class."""

    variant: Literal["distinct"] = "distinct"
    l: int = Field(ge=2)  # noqa: E741 - the literature's name


class EntropyL(_Frozen):
    """Entropy l-diversity: every class's entropy (``estimator``) at least ln ``l``."""

    variant: Literal["entropy"] = "entropy"
    l: float = Field(gt=1)  # noqa: E741
    estimator: EntropyEstimator = "shannon"


class RecursiveCL(_Frozen):
    """Recursive (c, l)-diversity: r_1 < c (r_l + ... + r_m) in every class."""

    variant: Literal["recursive"] = "recursive"
    l: int = Field(ge=2)  # noqa: E741
    c: float = Field(gt=0)


LDiversity = Annotated[DistinctL | EntropyL | RecursiveCL, Field(discriminator="variant")]


class TClosenessRequirement(_Frozen):
    """t-closeness: every class's sensitive distribution within EMD ``t`` of the table's.

    ``hierarchy``: the ARX CSV file of the sensitive column's hierarchy, for (and only for)
    the hierarchical distance.
    """

    t: float = Field(gt=0, le=1)
    distance: TDistance = "equal"
    hierarchy: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _hierarchy_for_hierarchical(self) -> TClosenessRequirement:
        if self.distance == "hierarchical" and self.hierarchy is None:
            problem = "the hierarchical distance needs the sensitive column's hierarchy"
            raise RequirementError([("t_closeness.hierarchy", problem)])
        if self.distance != "hierarchical" and self.hierarchy is not None:
            problem = f"only the hierarchical distance uses a hierarchy, not {self.distance!r}"
            raise RequirementError([("t_closeness.hierarchy", problem)])
        return self


# Settings that belong to one l-diversity variant: named in the message when given to another.
_VARIANT_SETTINGS = {"c": "recursive", "estimator": "entropy"}


def _field(loc: tuple[int | str, ...]) -> str:
    """Dotted field name; the union's tag (``distinct``...) is not a field of its own."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "l_diversity" and parts[1] in L_VARIANTS:
        del parts[1]
    if parts == ["l_diversity"]:
        parts.append("variant")
    return ".".join(parts)


def _problem(error: Any) -> str:
    """What is wrong, in words that name the rule, never the value given."""
    loc, kind = tuple(error["loc"]), error["type"]
    variant = str(loc[1]) if len(loc) > 1 and loc[0] == "l_diversity" else None
    name = str(loc[-1])
    if kind == "extra_forbidden" and name in _VARIANT_SETTINGS:
        return f"only {_VARIANT_SETTINGS[name]} l-diversity takes {name}"
    if kind == "extra_forbidden":
        return "not a setting of " + (f"{variant} l-diversity" if variant else "this requirement")
    if kind == "missing" and variant:
        return f"required by {variant} l-diversity"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"expected one of {', '.join(L_VARIANTS)}"
    if kind == "int_from_float":
        return f"must be a whole number{f' for {variant} l-diversity' if variant else ''}"
    return str(error["msg"])


class PrivacyRequirement(_Frozen):
    """What a table must satisfy: k-anonymity, l-diversity and/or t-closeness.

    At least one of ``k``, ``l_diversity``, ``t_closeness`` is set; ``sensitive`` names the
    column that l-diversity and t-closeness protect. Invalid input raises
    :class:`RequirementError` (a ``ConfigurationError``), never pydantic's own error.
    """

    k: int | None = Field(default=None, ge=1)
    sensitive: str | None = Field(default=None, min_length=1)
    l_diversity: LDiversity | None = None
    t_closeness: TClosenessRequirement | None = None

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise RequirementError(
                [(_field(tuple(e["loc"])), _problem(e)) for e in exc.errors()]
            ) from None

    @model_validator(mode="after")
    def _consistent(self) -> PrivacyRequirement:
        if self.k is None and self.l_diversity is None and self.t_closeness is None:
            raise RequirementError([("k", "give at least one of k, l-diversity, t-closeness")])
        if self.sensitive is None and (self.l_diversity or self.t_closeness) is not None:
            problem = "l-diversity and t-closeness need a sensitive column"
            raise RequirementError([("sensitive", problem)])
        return self

    def models(self, *, sensitive_hierarchy: Hierarchy | None = None) -> list[PrivacyModel]:
        """The engine's privacy models (``transforms.privacy_models``), k first.

        ``sensitive_hierarchy``: the sensitive column's hierarchy when the caller has it loaded;
        otherwise hierarchical t-closeness reads ``t_closeness.hierarchy``.
        """
        from transforms.privacy_models import (
            DistinctLDiversity,
            EntropyLDiversity,
            KAnonymity,
            RecursiveCLDiversity,
            TCloseness,
        )

        models: list[PrivacyModel] = []
        if self.k is not None:
            models.append(KAnonymity(self.k))
        column = self.sensitive
        diversity = self.l_diversity
        if column is not None and isinstance(diversity, DistinctL):
            models.append(DistinctLDiversity(column, diversity.l))
        elif column is not None and isinstance(diversity, EntropyL):
            models.append(EntropyLDiversity(column, diversity.l, estimator=diversity.estimator))
        elif column is not None and isinstance(diversity, RecursiveCL):
            models.append(RecursiveCLDiversity(column, diversity.c, diversity.l))
        closeness = self.t_closeness
        if column is not None and closeness is not None:
            hierarchy = None
            if closeness.distance == "hierarchical":
                hierarchy = sensitive_hierarchy
                if hierarchy is None and closeness.hierarchy is not None:
                    from transforms.hierarchy import load_hierarchy

                    hierarchy = load_hierarchy(closeness.hierarchy, column=column)
            models.append(TCloseness(column, closeness.t, closeness.distance, hierarchy))
        return models

    def gx_parameters(self) -> dict[str, Any]:
        """Parameters of the ``released_microdata`` suite for this requirement.

        Only what is set: an unset l or t keeps the suite's default (null: the check is
        skipped); the suite always checks k, so no k is k = 1 (met by every class). The
        caller adds ``qi`` and ``suppression_marker``.
        """
        params: dict[str, Any] = {"k": 1 if self.k is None else self.k}
        if self.sensitive is not None:
            params["sensitive"] = self.sensitive
        diversity = self.l_diversity
        if diversity is not None:
            params |= {
                "l": diversity.l,
                "l_variant": diversity.variant,
                "c": diversity.c if isinstance(diversity, RecursiveCL) else None,
                "entropy_estimator": diversity.estimator
                if isinstance(diversity, EntropyL)
                else "shannon",
            }
        closeness = self.t_closeness
        if closeness is not None:
            params |= {
                "t": closeness.t,
                "t_distance": closeness.distance,
                "t_hierarchy": closeness.hierarchy,
            }
        return params

    def tightened(
        self, *, min_k: int | None = None, min_l: int | None = None
    ) -> PrivacyRequirement:
        """This requirement, raised to a recipient's minimums (never lowered).

        ``min_l`` raises the configured variant's l, or asks for distinct l-diversity when
        none is configured (a sensitive column is then required).
        """
        k = self.k if min_k is None else max(self.k or 0, min_k)
        diversity = self.l_diversity
        if min_l is not None:
            if diversity is None:
                diversity = DistinctL(l=min_l)
            elif diversity.l < min_l:
                diversity = diversity.model_copy(update={"l": type(diversity.l)(min_l)})
        return PrivacyRequirement(
            k=k, sensitive=self.sensitive, l_diversity=diversity, t_closeness=self.t_closeness
        )

    def label(self) -> str:
        """Short text for reasons and reports: ``k=10, l=2``, ``entropy l=1.5``, ``t=0.3``."""
        parts = [] if self.k is None else [f"k={self.k}"]
        diversity = self.l_diversity
        if isinstance(diversity, DistinctL):
            parts.append(f"l={diversity.l}")
        elif isinstance(diversity, EntropyL):
            estimator = "" if diversity.estimator == "shannon" else f" ({diversity.estimator})"
            parts.append(f"entropy l={diversity.l:g}{estimator}")
        elif isinstance(diversity, RecursiveCL):
            parts.append(f"recursive c={diversity.c:g} l={diversity.l}")
        closeness = self.t_closeness
        if closeness is not None:
            distance = "" if closeness.distance == "equal" else f" ({closeness.distance})"
            parts.append(f"t={closeness.t:g}{distance}")
        return ", ".join(parts)
