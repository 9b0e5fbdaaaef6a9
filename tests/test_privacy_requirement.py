"""One privacy requirement: invalid combinations name their field, every caller derives from it,
and the engine's models and the GX suite judge every frame the same way."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, get_args

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from expectations.validation import SUITES_DIR, Validator
from pipeline.cli import app, privacy_options
from pipeline.settings.release_config import ConfigError, PrivacyProfile, load_config
from transforms.metrics import METRICS
from transforms.options import (
    ENTROPY_ESTIMATORS,
    L_VARIANTS,
    METRIC_NAMES,
    SEARCH_METHODS,
    T_DISTANCES,
)
from transforms.privacy_models import check_privacy
from transforms.privacy_requirement import (
    LDiversity,
    PrivacyRequirement,
    RequirementError,
)

runner = CliRunner()

# ------------------------------------------------------------------- invalid combinations


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            {"l_diversity": {"variant": "distinct", "l": 2, "c": 3.0}},
            "l_diversity.c",
            "only recursive",
        ),
        (
            {"l_diversity": {"variant": "entropy", "l": 2.5, "c": 3.0}},
            "l_diversity.c",
            "only recursive",
        ),
        ({"l_diversity": {"variant": "recursive", "l": 2}}, "l_diversity.c", "required"),
        ({"l_diversity": {"variant": "distinct", "l": 2.5}}, "l_diversity.l", "whole number"),
        ({"l_diversity": {"variant": "recursive", "l": 2.5, "c": 2}}, "l_diversity.l", "whole"),
        ({"l_diversity": {"variant": "distinct", "l": 1}}, "l_diversity.l", "2"),
        ({"l_diversity": {"variant": "entropy", "l": 1.0}}, "l_diversity.l", "greater than 1"),
        (
            {"l_diversity": {"variant": "distinct", "l": 2, "estimator": "grassberger"}},
            "l_diversity.estimator",
            "only entropy",
        ),
        ({"l_diversity": {"variant": "diverse", "l": 2}}, "l_diversity.variant", "distinct"),
        ({"l_diversity": {"l": 2}}, "l_diversity.variant", "expected one of"),
        ({"t_closeness": {"t": 0.0}}, "t_closeness.t", "greater than 0"),
        ({"t_closeness": {"t": 1.5}}, "t_closeness.t", "less than or equal to 1"),
        (
            {"t_closeness": {"t": 0.3, "distance": "hierarchical"}},
            "t_closeness.hierarchy",
            "needs",
        ),
        (
            {"t_closeness": {"t": 0.3, "distance": "ordered", "hierarchy": "h.csv"}},
            "t_closeness.hierarchy",
            "only the hierarchical",
        ),
        ({"k": 2.5}, "k", "whole number"),
        ({"k": 0}, "k", "1"),
        ({}, "k", "at least one"),
    ],
)
def test_invalid_combinations_fail_naming_the_field(
    data: dict[str, Any], field: str, words: str
) -> None:
    sensitive = {} if "k" in data or not data else {"sensitive": "s"}
    with pytest.raises(RequirementError) as err:
        PrivacyRequirement(**sensitive, **data)
    assert err.value.field == field
    assert words in err.value.problem
    assert str(err.value).startswith(f"{field}: ")


def test_l_and_t_need_a_sensitive_column() -> None:
    for part in (
        {"l_diversity": {"variant": "distinct", "l": 2}},
        {"t_closeness": {"t": 0.3}},
    ):
        with pytest.raises(RequirementError) as err:
            PrivacyRequirement(k=2, **part)
        assert err.value.field == "sensitive"


def test_the_error_is_a_configuration_error_and_never_quotes_the_value() -> None:
    from transforms.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as err:
        PrivacyRequirement(sensitive="s", l_diversity={"variant": "distinct", "l": 2.123456})
    assert "2.123456" not in str(err.value)


def test_valid_requirements_map_to_the_engine_models() -> None:
    from transforms.privacy_models import (
        DistinctLDiversity,
        EntropyLDiversity,
        KAnonymity,
        RecursiveCLDiversity,
        TCloseness,
    )

    r = PrivacyRequirement(
        k=5,
        sensitive="s",
        l_diversity={"variant": "recursive", "l": 3, "c": 2.5},
        t_closeness={"t": 0.4, "distance": "ordered"},
    )
    assert r.models() == [
        KAnonymity(5),
        RecursiveCLDiversity("s", 2.5, 3),
        TCloseness("s", 0.4, "ordered"),
    ]
    whole = PrivacyRequirement(sensitive="s", l_diversity={"variant": "distinct", "l": 3.0})
    assert whole.models() == [DistinctLDiversity("s", 3)]
    entropy = PrivacyRequirement(
        sensitive="s", l_diversity={"variant": "entropy", "l": 1.5, "estimator": "grassberger"}
    )
    assert entropy.models() == [EntropyLDiversity("s", 1.5, "grassberger")]


def test_tightened_raises_never_lowers_and_keeps_the_variant() -> None:
    base = PrivacyRequirement(
        k=10, sensitive="s", l_diversity={"variant": "entropy", "l": 2.5}, t_closeness={"t": 0.3}
    )
    assert base.tightened(min_k=5, min_l=2) == base
    strict = base.tightened(min_k=20, min_l=3)
    assert strict.k == 20 and strict.l_diversity is not None
    assert strict.l_diversity.variant == "entropy" and strict.l_diversity.l == 3
    assert strict.t_closeness == base.t_closeness
    assert strict.label() == "k=20, entropy l=3, t=0.3"
    only_k = PrivacyRequirement(k=10, sensitive="s")
    assert only_k.tightened(min_l=2).label() == "k=10, l=2"  # distinct when none configured
    with pytest.raises(RequirementError) as err:
        PrivacyRequirement(k=10).tightened(min_l=2)
    assert err.value.field == "sensitive"
    # equal requirements are one cache key of the gate
    assert hash(base.tightened(min_k=10)) == hash(base)


def test_gx_parameters_are_parameters_of_the_released_microdata_suite() -> None:
    suite = json.loads((SUITES_DIR / "released_microdata.json").read_text(encoding="utf-8"))
    placeholders = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            if "$PARAMETER" in value:
                placeholders.add(value["$PARAMETER"])
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    collect(suite["expectations"])
    full = PrivacyRequirement(
        k=3,
        sensitive="s",
        l_diversity={"variant": "recursive", "l": 2, "c": 2},
        t_closeness={"t": 0.3, "distance": "hierarchical", "hierarchy": "h.csv"},
    )
    assert set(full.gx_parameters()) <= placeholders
    assert {"k", "sensitive", "l", "l_variant", "c", "t", "t_distance", "t_hierarchy"} <= set(
        full.gx_parameters()
    )


# ------------------------------------------------------------------ the profile, the CLIs


def _profile(**privacy: Any) -> dict[str, Any]:
    return {
        "quasi_identifiers": ["age"],
        "sensitive": "course",
        "k": 5,
        "suppression_limit": 0.1,
        "min_cell_count": 5,
        **privacy,
    }


@pytest.mark.parametrize(
    ("privacy", "key"),
    [
        ({"l": 2, "c": 2.0}, "c"),
        ({"c": 2.0}, "c"),
        ({"l": 2, "l_variant": "recursive"}, "c"),
        ({"l": 2.5}, "l"),
        ({"t": 1.5}, "t"),
        ({"t": 0.3, "t_distance": "hierarchical"}, "t_distance"),
    ],
)
def test_profile_errors_name_the_yaml_key(
    tmp_path: Path, privacy: dict[str, Any], key: str
) -> None:
    import yaml

    path = tmp_path / "release.yaml"
    path.write_text(yaml.safe_dump({"profile": _profile(**privacy)}), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"profile: .*\b{key}: "):
        load_config(path)


def test_profile_requirement_keeps_the_flat_keys() -> None:
    profile = PrivacyProfile.model_validate(
        _profile(l=1.5, l_variant="entropy", entropy_estimator="grassberger", t=0.2)
    )
    assert profile.requirement == PrivacyRequirement(
        k=5,
        sensitive="course",
        l_diversity={"variant": "entropy", "l": 1.5, "estimator": "grassberger"},
        t_closeness={"t": 0.2},
    )
    # the estimator has a default: it is read by the entropy variant only
    assert PrivacyProfile.model_validate(_profile(l=2, entropy_estimator="grassberger"))


def test_cli_enums_are_the_vocabularies() -> None:
    assert tuple(privacy_options.LVariant) == L_VARIANTS
    assert tuple(privacy_options.Estimator) == ENTROPY_ESTIMATORS
    assert tuple(privacy_options.TDistance) == T_DISTANCES
    assert tuple(privacy_options.MetricName) == METRIC_NAMES
    assert tuple(privacy_options.Method) == SEARCH_METHODS
    assert tuple(METRICS) == METRIC_NAMES
    variants = tuple(m.model_fields["variant"].default for m in get_args(get_args(LDiversity)[0]))
    assert variants == L_VARIANTS


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    rows = [f"{z};{s}" for z in ("a", "b") for s in ("x", "y", "z")]
    path.write_text("zip;disease\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["check", "validate"])
@pytest.mark.parametrize(
    ("options", "option"),
    [
        (["--l", "2", "--c", "3"], "--c"),
        (["--l", "2", "--l-variant", "recursive"], "--c"),
        (["--l", "2.5"], "--l"),
        (["--t", "0.3", "--t-distance", "hierarchical"], "--hierarchies"),
    ],
)
def test_cli_usage_error_names_the_option(
    small_csv: Path, command: str, options: list[str], option: str
) -> None:
    args = [str(small_csv), "--qi", "zip", "--k", "2", "--sensitive", "disease", *options]
    if command == "validate":
        args = ["--suite", "released_microdata", *args]
    result = runner.invoke(app, [command, *args])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if x.strip()]
    assert line.startswith(f"usage error: {option}: ")


def test_check_and_validate_take_the_same_l(small_csv: Path) -> None:
    # 3 distinct values per class: distinct l = 3 met, entropy l = 3 met, l = 4 not
    common = [str(small_csv), "--qi", "zip", "--sensitive", "disease"]
    for level, code in (("3", 0), ("4", 1)):
        check = runner.invoke(app, ["check", *common, "--l", level])
        valid = runner.invoke(
            app, ["validate", "--suite", "released_microdata", *common, "--k", "1", "--l", level]
        )
        assert (check.exit_code, valid.exit_code) == (code, code), (check.output, valid.output)
    entropy = ["--l", "2.9", "--l-variant", "entropy"]
    assert runner.invoke(app, ["check", *common, *entropy]).exit_code == 0
    args = ["validate", "--suite", "released_microdata", *common, "--k", "1", *entropy]
    assert runner.invoke(app, args).exit_code == 0


# ------------------------------------------------- the engine and the GX suite agree


SENSITIVE = ("a", "b", "c", "d")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


@pytest.fixture(scope="module")
def hierarchy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hierarchy") / "t_hierarchy_s.csv"
    path.write_text("a;ab;*\nb;ab;*\nc;cd;*\nd;cd;*\n", encoding="utf-8")
    return path


@st.composite
def requirements(draw: st.DrawFn, hierarchy: str) -> PrivacyRequirement:
    k = draw(st.none() | st.integers(1, 4))
    diversity = draw(
        st.none()
        | st.builds(lambda n: {"variant": "distinct", "l": n}, st.integers(2, 4))
        | st.builds(
            lambda n, e: {"variant": "entropy", "l": n, "estimator": e},
            st.floats(1.01, 3.5),
            st.sampled_from(ENTROPY_ESTIMATORS),
        )
        | st.builds(
            lambda n, c: {"variant": "recursive", "l": n, "c": c},
            st.integers(2, 3),
            st.floats(0.5, 4.0),
        )
    )
    closeness = draw(
        st.none()
        | st.builds(
            lambda t, d: (
                {"t": t, "distance": d} | ({"hierarchy": hierarchy} if d == "hierarchical" else {})
            ),
            st.floats(0.05, 1.0),
            st.sampled_from(T_DISTANCES),
        )
    )
    if k is None and diversity is None and closeness is None:
        k = 2
    return PrivacyRequirement(k=k, sensitive="s", l_diversity=diversity, t_closeness=closeness)


frames = st.lists(
    st.tuples(
        st.sampled_from(["q1", "q2", "q3"]),
        st.sampled_from(["r1", "r2"]),
        st.sampled_from(SENSITIVE),
    ),
    min_size=1,
    max_size=30,
).map(lambda rows: pd.DataFrame(rows, columns=["q", "r", "s"]))

_EXPECTATION_OF = {
    "KAnonymity": "expect_table_to_be_k_anonymous",
    "DistinctLDiversity": "expect_table_to_be_l_diverse",
    "EntropyLDiversity": "expect_table_to_be_l_diverse",
    "RecursiveCLDiversity": "expect_table_to_be_l_diverse",
    "TCloseness": "expect_table_to_be_t_close",
}


@given(data=st.data(), df=frames)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_models_and_the_gx_suite_judge_every_frame_alike(
    validator: Validator, hierarchy_file: Path, data: st.DataObject, df: pd.DataFrame
) -> None:
    requirement = data.draw(requirements(str(hierarchy_file)))
    qi = ["q", "r"]
    outcome = validator.run(
        df,
        suite="released_microdata",
        parameters={"qi": qi, "suppression_marker": None, **requirement.gx_parameters()},
    )
    models = requirement.models()
    failed = {f.expectation for f in outcome.failures}
    expected = {
        _EXPECTATION_OF[type(m).__name__]
        for m in models
        if not check_privacy(df, qi=qi, models=[m], sensitive="s").satisfied
    }
    assert failed == expected
    together = check_privacy(df, qi=qi, models=models, sensitive="s").satisfied
    assert outcome.success == together
