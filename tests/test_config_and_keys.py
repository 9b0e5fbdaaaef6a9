from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings.keys import MissingKeyError, create_demo_key, load_hmac_key
from pipeline.settings.paths import HIERARCHY_DIR
from pipeline.settings.release_config import ConfigError, load_config
from pipeline.sources.reference_hierarchies import build_reference_hierarchies

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_loads_and_env_overrides_locations(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", "s3://bucket/releases")
    config = load_config()
    assert config.release_root == "s3://bucket/releases"
    assert config.profile.k >= 2


def test_invalid_config_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "release.yaml"
    bad.write_text("profile:\n  quasi_identifiers: [age]\n  k: 1\n  suppression_limit: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    message = str(err.value)
    assert str(bad) in message and "profile.k" in message and "min_cell_count" in message


def test_l_diversity_without_sensitive_column_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "release.yaml"
    bad.write_text(
        "profile:\n  quasi_identifiers: [age]\n  k: 5\n  l: 2\n"
        "  suppression_limit: 0.1\n  min_cell_count: 5\n"
    )
    with pytest.raises(ConfigError, match="sensitive"):
        load_config(bad)


def test_key_comes_from_env_never_silently_missing(monkeypatch, tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError):
        load_hmac_key()
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "ab" * 32)
    assert load_hmac_key() == bytes.fromhex("ab" * 32)
    monkeypatch.delenv("ANONRELEASE_HMAC_KEY")
    key_file = tmp_path / "key"
    key_file.write_text("cd" * 32 + "\n")
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY_FILE", str(key_file))
    assert load_hmac_key() == bytes.fromhex("cd" * 32)


def test_demo_key_lives_outside_the_repo_and_is_stable(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANONRELEASE_DEMO_KEY_FILE", str(tmp_path / "demo.key"))
    first = load_hmac_key(demo=True)
    assert load_hmac_key(demo=True) == first and len(first) == 32
    with pytest.raises(MissingKeyError, match="inside the repository"):
        create_demo_key(REPO / "data" / "demo.key")


def test_shipped_hierarchies_match_the_reference_data(tmp_path: Path) -> None:
    for path in build_reference_hierarchies(tmp_path):
        shipped = HIERARCHY_DIR / path.name
        assert shipped.read_bytes() == path.read_bytes(), f"{shipped} is out of date"


def test_profile_maps_to_engine_models_with_the_configured_estimator(tmp_path: Path) -> None:
    from transforms.privacy_models import EntropyLDiversity, KAnonymity, TCloseness

    path = tmp_path / "release.yaml"
    path.write_text(
        "profile:\n  quasi_identifiers: [age]\n  sensitive: course\n  k: 5\n  l: 3\n"
        "  l_variant: entropy\n  entropy_estimator: grassberger\n  t: 0.3\n"
        "  suppression_limit: 0.1\n  min_cell_count: 5\n"
    )
    models = load_config(path).profile.requirement.models()
    assert models[0] == KAnonymity(5)
    assert isinstance(models[1], EntropyLDiversity) and models[1].estimator == "grassberger"
    assert isinstance(models[2], TCloseness) and models[2].distance == "equal"


def test_hierarchical_t_closeness_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "release.yaml"
    path.write_text(
        "profile:\n  quasi_identifiers: [age]\n  sensitive: course\n  k: 5\n  t: 0.3\n"
        "  t_distance: hierarchical\n  suppression_limit: 0.1\n  min_cell_count: 5\n"
    )
    with pytest.raises(ConfigError, match="t_distance"):
        load_config(path)


def test_unknown_time_zone_fails_at_load_naming_the_field(tmp_path: Path) -> None:
    config = (REPO / "data" / "config" / "release.yaml").read_text(encoding="utf-8")
    path = tmp_path / "release.yaml"
    path.write_text(config.replace("timezone: Asia/Tokyo", "timezone: Asia/Tokio"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "timezone" in message and "Asia/Tokio" in message


def test_missing_or_empty_key_file_is_a_configuration_error_naming_the_file(
    monkeypatch, tmp_path: Path
) -> None:
    missing = tmp_path / "absent.key"
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY_FILE", str(missing))
    with pytest.raises(MissingKeyError, match=r"absent\.key.*not found"):
        load_hmac_key()
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY_FILE", str(empty))
    with pytest.raises(MissingKeyError, match=r"empty\.key is empty"):
        load_hmac_key()


def test_shipped_profile_keeps_region_through_its_level_bounds() -> None:
    profile = load_config().profile
    assert profile.max_levels is not None and profile.max_levels["postal_code"] <= 2
    assert profile.weights is not None


@pytest.mark.parametrize(
    ("levers", "field"),
    [
        ("  weights: {age: -1}\n", "weights.age"),
        ("  weights: {age: .inf}\n", "weights.age"),
        ("  weights: {zip: 1}\n", "weights.zip"),
        ("  min_levels: {age: 1.5}\n", "min_levels.age"),
        ("  min_levels: {gender: -1}\n", "min_levels.gender"),
        ("  max_levels: {postal_code: 4}\n", "max_levels.postal_code"),
        ("  max_levels: {zip: 1}\n", "max_levels.zip"),
        ("  min_levels: {age: 3}\n  max_levels: {age: 2}\n", "min_levels.age"),
        ("  metric: aecs\n  weights: {age: 2}\n", "weights"),
    ],
)
def test_bad_weights_and_level_bounds_fail_at_load_naming_the_field(
    tmp_path: Path, levers: str, field: str
) -> None:
    bad = tmp_path / "release.yaml"
    bad.write_text(
        "profile:\n  quasi_identifiers: [age, gender, postal_code]\n  k: 5\n"
        "  suppression_limit: 0.1\n  min_cell_count: 5\n" + levers
    )
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(bad)


def test_weights_and_level_bounds_load(tmp_path: Path) -> None:
    good = tmp_path / "release.yaml"
    good.write_text(
        "profile:\n  quasi_identifiers: [age, gender, postal_code]\n  k: 5\n"
        "  suppression_limit: 0.1\n  min_cell_count: 5\n"
        "  weights: {age: 1, gender: 0.5}\n  min_levels: {age: 1}\n  max_levels: {postal_code: 2}\n"
    )
    profile = load_config(good).profile
    assert profile.weights == {"age": 1.0, "gender": 0.5}
    assert profile.min_levels == {"age": 1} and profile.max_levels == {"postal_code": 2}


@pytest.mark.parametrize("budget", ["0", "-1.5", ".inf", "abc"])
def test_a_non_positive_analyst_budget_fails_at_load_naming_file_and_field(
    tmp_path: Path, budget: str
) -> None:
    config = (REPO / "data" / "config" / "release.yaml").read_text(encoding="utf-8")
    assert "  analyst_budget: 3.0\n" in config
    path = tmp_path / "release.yaml"
    path.write_text(config.replace("  analyst_budget: 3.0\n", f"  analyst_budget: {budget}\n"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: dp.analyst_budget: ")
    problem = message.removeprefix(f"{path}: dp.analyst_budget: ")
    assert problem and (budget == "0" or budget not in problem)  # the rule, not the value


def test_the_analyst_budget_defaults_to_three_and_loads_from_the_file(tmp_path: Path) -> None:
    assert load_config().dp.analyst_budget == 3.0
    config = (REPO / "data" / "config" / "release.yaml").read_text(encoding="utf-8")
    path = tmp_path / "release.yaml"
    path.write_text(config.replace("  analyst_budget: 3.0\n", "  analyst_budget: 0.25\n"))
    assert load_config(path).dp.analyst_budget == 0.25
    path.write_text(config.replace("dp:\n  analyst_budget: 3.0\n", ""))
    assert load_config(path).dp.analyst_budget == 3.0
