"""Suite files that would check nothing must be configuration errors, not passes (review)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from expectations.validation import SuiteConfigError, load_suite, run_validation

K_ANON = {"type": "expect_table_to_be_k_anonymous", "kwargs": {"qi": ["a"], "k": 5}}


def _write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content",
    [
        {"name": "x", "expectation": [K_ANON]},  # typo: the key is "expectations"
        {"name": "x", "expectations": []},
        {"name": "x"},
        [K_ANON],
    ],
)
def test_a_suite_without_expectations_is_a_config_error(tmp_path: Path, content: object) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(SuiteConfigError, match="no expectations"):
        load_suite(path)
    # before: run_validation passed a 1-anonymous table with 0 expectations evaluated
    with pytest.raises(SuiteConfigError):
        run_validation(pd.DataFrame({"a": ["1", "2", "3"]}), suite=str(path))


def test_an_expectation_without_type_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, {"name": "x", "expectations": [{"kwargs": {"qi": ["a"]}}]})
    with pytest.raises(SuiteConfigError, match="'type'"):
        load_suite(path)


def test_a_suite_whose_every_expectation_is_skipped_is_a_config_error(tmp_path: Path) -> None:
    entry = {**K_ANON, "meta": {"skip_if_null": "k"}}
    path = _write(tmp_path, {"name": "x", "expectations": [entry]})
    with pytest.raises(SuiteConfigError, match="nothing checked"):
        load_suite(path, parameters={"k": None})
    assert len(load_suite(path, parameters={"k": 5}).expectations) == 1


def test_shipped_suites_still_load() -> None:
    spec = load_suite("released_microdata", parameters={"qi": ["a"], "k": 5})
    assert [e["type"] for e in spec.expectations] == [
        "expect_table_to_be_k_anonymous",
        "expect_columns_to_contain_no_direct_identifiers",
    ]
