"""The Adult fixture shared by the engine tests (tests/fixtures/adult, CC BY 4.0)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ADULT = Path(__file__).parent / "fixtures" / "adult"
# Every column, in header order: the quasi-identifiers of ARX's golden results.
ADULT_COLUMNS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
    "salary-class",
]
# The eight non-salary columns (salary-class is then the sensitive attribute).
ADULT_QI_8 = ADULT_COLUMNS[:-1]


def read_adult(**kwargs: object) -> pd.DataFrame:
    """adult.csv as ARX ships it (';'-separated, header row)."""
    return pd.read_csv(ADULT / "adult.csv", sep=";", **kwargs)
