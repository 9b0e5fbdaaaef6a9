"""GX expectations for k-anonymity, l-diversity and t-closeness of released microdata.

The semantics live in one place, ``transforms.privacy_models`` (ARX's definitions, also used by
the anonymization engine). Each expectation's kwargs become a
``transforms.privacy_requirement.PrivacyRequirement`` (the model the profile, the CLI and the
gate build too), whose ``models()`` are checked with ``check_privacy``; only its counts are
reported:
number of records and classes, the smallest class, the achieved l / t, and how many classes and
records violate. Never a QI value.

Suppressed records, whose every quasi-identifier equals the marker ``*`` (ARX's output for a
suppressed row), are excluded from the classes (they are counted in ``n_suppressed``); for
t-closeness they still count in the overall distribution, as in ARX. With
``suppression_marker=None`` no row is treated as suppressed: the release gate validates
candidates from which suppressed records were already removed, so a row whose every QI was
legitimately generalized to ``*`` is a released record and must be in its class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Dict, List, Optional  # noqa: UP035

import numpy as np
import pandas as pd
from great_expectations.compatibility.pydantic import validator
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

from expectations.custom import _LIBRARY_METADATA, RenderedAsSentence, _percent, _table
from transforms.anonymize import SUPPRESSED
from transforms.privacy_models import PrivacyReport, check_privacy
from transforms.privacy_requirement import PrivacyRequirement

SUPPRESSION_MARKER = SUPPRESSED  # ARX's marker for a suppressed record's quasi-identifiers


def suppressed_mask(df: pd.DataFrame, /, *, qi: Sequence[str], marker: str | None) -> np.ndarray:
    """True for rows whose every quasi-identifier equals the suppression marker (none if the
    marker is ``None``)."""
    if marker is None or not qi or df.empty:
        return np.zeros(len(df), dtype=bool)
    marks = np.column_stack([(df[c].astype(str) == marker).to_numpy(dtype=bool) for c in qi])
    return np.asarray(marks.all(axis=1))


def _requirement(kwargs: dict, kind: str) -> PrivacyRequirement:
    """The requirement one expectation checks (``kind``: k, distinct, entropy, recursive, t).

    An invalid combination (``c`` without recursive, a fractional distinct l) raises
    ``RequirementError``; GX reports the expectation as not checked, never as passed.
    """
    if kind == "k":
        return PrivacyRequirement(k=kwargs["k"])
    if kind == "t":
        closeness = {
            "t": kwargs["t"],
            "distance": kwargs.get("distance") or "equal",
            "hierarchy": kwargs.get("hierarchy"),
        }
        return PrivacyRequirement(sensitive=kwargs["sensitive"], t_closeness=closeness)
    diversity = {"variant": kind, "l": kwargs["l"]}
    if kwargs.get("c") is not None:
        diversity["c"] = kwargs["c"]
    if kind == "entropy":
        diversity["estimator"] = kwargs.get("estimator") or "shannon"
    return PrivacyRequirement(sensitive=kwargs["sensitive"], l_diversity=diversity)


def _report_dict(report: PrivacyReport, n_suppressed: int) -> dict:
    return {
        "n_records": report.n_records,
        "n_suppressed": n_suppressed,
        "n_classes": report.n_classes,
        "min_class_size": report.min_class_size,
        "achieved_l": report.l,
        "achieved_t": report.t,
        "violating_classes": report.violating_classes,
        "violating_records": report.violating_records,
        "satisfied": bool(report.satisfied),
    }


def _privacy_metric(
    execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict, kwargs: dict, kind: str
) -> dict:
    df = _table(execution_engine, metric_domain_kwargs)
    qi = list(kwargs["qi"])
    suppressed = suppressed_mask(df, qi=qi, marker=kwargs.get("suppression_marker"))
    requirement = _requirement(kwargs, kind)
    report = check_privacy(
        df, qi=qi, models=requirement.models(), sensitive=requirement.sensitive, exclude=suppressed
    )
    return _report_dict(report, int(suppressed.sum()))


class KAnonymityReport(TableMetricProvider):
    """``check_privacy`` with ``KAnonymity(k)`` over the QI classes."""

    metric_name = "anonrelease.k_anonymity_report"
    value_keys = ("qi", "k", "suppression_marker")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        return _privacy_metric(execution_engine, metric_domain_kwargs, metric_value_kwargs, "k")


class LDiversityReport(TableMetricProvider):
    """``check_privacy`` with a distinct, entropy or recursive l-diversity model."""

    metric_name = "anonrelease.l_diversity_report"
    value_keys = ("qi", "sensitive", "l", "variant", "c", "estimator", "suppression_marker")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        kind = metric_value_kwargs.get("variant") or "distinct"
        return _privacy_metric(execution_engine, metric_domain_kwargs, metric_value_kwargs, kind)


class TClosenessReport(TableMetricProvider):
    """``check_privacy`` with ``TCloseness`` (equal, ordered or hierarchical distance)."""

    metric_name = "anonrelease.t_closeness_report"
    value_keys = ("qi", "sensitive", "t", "distance", "hierarchy", "suppression_marker")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 - GX binds metric functions to the provider class
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict,
    ) -> dict:
        return _privacy_metric(execution_engine, metric_domain_kwargs, metric_value_kwargs, "t")


class _PrivacyExpectation(RenderedAsSentence, BatchExpectation):
    """Shared validation: success iff no class violates the model."""

    qi: List[str]  # noqa: UP006
    # None: no row is suppressed (pipeline candidates, whose suppressed rows are already gone)
    suppression_marker: Optional[str] = SUPPRESSION_MARKER  # noqa: UP045
    _none_words: ClassVar[Dict[str, str]] = {  # noqa: UP006
        "suppression_marker": "none, every row is checked"
    }

    library_metadata: ClassVar[Dict[str, Any]] = _LIBRARY_METADATA  # noqa: UP006
    _metric: ClassVar[str] = ""

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        m = metrics[self._metric]
        return {
            "success": m["satisfied"],
            "result": {
                "observed_value": self._observed(m),
                "element_count": m["n_records"] + m["n_suppressed"],
                "unexpected_count": m["violating_records"],
                "unexpected_percent": _percent(
                    m["violating_records"], m["n_records"] + m["n_suppressed"]
                ),
                "details": m,
            },
        }

    def _observed(self, m: dict) -> Any:  # pragma: no cover - overridden
        return m["min_class_size"]


class ExpectTableToBeKAnonymous(_PrivacyExpectation):
    """Expect every equivalence class over ``qi`` to hold at least ``k`` records.

    Rows whose every QI equals ``suppression_marker`` (``*``) are suppressed and excluded;
    ``suppression_marker=None`` checks every row.
    ``observed_value`` is the smallest class size.
    """

    _template: ClassVar[str] = (
        "Every equivalence class over $qi must hold at least $k records (rows whose QIs all equal "
        "the suppression marker are excluded; marker: $suppression_marker)."
    )

    k: int

    success_keys = ("qi", "k", "suppression_marker")
    args_keys = ("qi", "k")
    metric_dependencies = ("anonrelease.k_anonymity_report",)
    _metric: ClassVar[str] = "anonrelease.k_anonymity_report"

    @validator("k", pre=True)
    def _k_is_whole(cls, value: Any) -> Any:  # noqa: N805 - pydantic validators take cls
        """Refuse 2.5 instead of letting pydantic truncate it to a weaker k = 2."""
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("k must be a whole number")
        return value


class ExpectTableToBeLDiverse(_PrivacyExpectation):
    """Expect every class over ``qi`` to be l-diverse in ``sensitive``.

    ``variant``: ``distinct`` (at least l distinct values), ``entropy`` (ARX: at least ceil(l)
    distinct values and exp of the class's estimated entropy >= l, ties passing; ``estimator``
    ``shannon`` or ``grassberger``; decided by ``transforms.privacy_models``) or ``recursive``
    ((c, l): r_1 < c (r_l + ... + r_m)). ``observed_value`` is the smallest achieved l.
    """

    _template: ClassVar[str] = (
        "Every class over $qi must be $variant l-diverse in $sensitive with l = $l (c = $c, "
        "estimator $estimator)."
    )

    sensitive: str
    l: float  # noqa: E741 - float: entropy l may be fractional
    variant: str = "distinct"
    c: Optional[float] = None  # noqa: UP045
    estimator: str = "shannon"

    success_keys = ("qi", "sensitive", "l", "variant", "c", "estimator", "suppression_marker")
    args_keys = ("qi", "sensitive", "l")
    metric_dependencies = ("anonrelease.l_diversity_report",)
    _metric: ClassVar[str] = "anonrelease.l_diversity_report"

    def _observed(self, m: dict) -> Any:
        return m["achieved_l"]


class ExpectTableToBeTClose(_PrivacyExpectation):
    """Expect every class's ``sensitive`` distribution within EMD ``t`` of the table's.

    ``distance``: ``equal``, ``ordered`` or ``hierarchical`` (then ``hierarchy`` is the ARX CSV
    hierarchy file of the sensitive column). ``observed_value`` is the largest class distance.
    """

    _template: ClassVar[str] = (
        "Every class over $qi must be within t = $t ($distance distance) of the overall "
        "distribution of $sensitive."
    )

    sensitive: str
    t: float
    distance: str = "equal"
    hierarchy: Optional[str] = None  # noqa: UP045

    success_keys = ("qi", "sensitive", "t", "distance", "hierarchy", "suppression_marker")
    args_keys = ("qi", "sensitive", "t")
    metric_dependencies = ("anonrelease.t_closeness_report",)
    _metric: ClassVar[str] = "anonrelease.t_closeness_report"

    def _observed(self, m: dict) -> Any:
        return m["achieved_t"]
