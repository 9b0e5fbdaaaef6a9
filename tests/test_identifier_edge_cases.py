"""Direct-identifier scan: inputs that used to be left unscanned (found in review)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expectations.identifiers import (
    InvalidSampleSizeError,
    my_number_check_digit_valid,
    scan_frame,
)

VALID_MY_NUMBER = 123456789018  # check digit 8 is valid for 12345678901


def test_fixture_number_is_a_valid_my_number() -> None:
    assert my_number_check_digit_valid([str(VALID_MY_NUMBER)]).all()


def test_my_numbers_in_a_float_column_are_found() -> None:
    # an integer column with one null is read as float64; it was skipped entirely
    df = pd.DataFrame({"m": [float(VALID_MY_NUMBER), np.nan, float(VALID_MY_NUMBER), 1.5]})
    report = scan_frame(df, kinds=("my_number",), sample_size=None)
    assert report.counts["m"]["my_number"] == 2
    assert report.flagged == {"m": 2}


def test_float_amounts_are_not_my_numbers() -> None:
    df = pd.DataFrame({"yen": [1500.0, np.nan, 123456789017.0, 1e20, -float(VALID_MY_NUMBER)]})
    assert scan_frame(df, sample_size=None).flagged == {}


def test_my_number_scan_ignores_a_non_unique_index() -> None:
    df = pd.DataFrame({"m": [str(VALID_MY_NUMBER), "x", "y"]}, index=[0, 0, 1])
    assert scan_frame(df, kinds=("my_number",), sample_size=None).flagged == {"m": 1}


@pytest.mark.parametrize("size", [0, -1])
def test_a_sample_of_no_rows_is_refused(size: int) -> None:
    # sample_size=0 scanned nothing, so a column full of emails passed
    df = pd.DataFrame({"e": ["a@example.com"] * 3})
    with pytest.raises(InvalidSampleSizeError):
        scan_frame(df, sample_size=size)


def test_gate_fails_when_the_scan_is_configured_to_sample_nothing(tmp_path: Path) -> None:
    from expectations.validation import run_validation

    suite = tmp_path / "scan_only.json"
    entry = {
        "type": "expect_columns_to_contain_no_direct_identifiers",
        "kwargs": {"columns": None, "sample_size": 0, "seed": 0},
    }
    suite.write_text(json.dumps({"name": "scan_only", "expectations": [entry]}))
    df = pd.DataFrame({"e": ["a@example.com"] * 3})
    outcome = run_validation(df, suite=str(suite))
    assert not outcome.success
    assert outcome.failures[0].detail == "error while checking"


def test_digits_of_other_scripts_do_not_break_the_scan() -> None:
    # Arabic-Indic digits match \d but are not ASCII: the My Number check raised
    # UnicodeEncodeError (the whole expectation errored) before
    df = pd.DataFrame({"c": ["番号 ١٢٣٤٥٦٧٨٩٠١٢ です", f"番号 {VALID_MY_NUMBER}"]})
    assert scan_frame(df, kinds=("my_number",), sample_size=None).flagged == {"c": 1}
