"""Typed parsing of raw text snapshots: every value parses or its row is rejected with the
field and the rule it broke (never the value itself), so nothing is silently dropped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

ColumnKind = Literal["int", "str", "date", "timestamp", "bool"]

REASON_COLUMN = "_reason"
ROW_COLUMN = "_row"
# In a raw snapshot: the fields of a row whose source bytes were not valid UTF-8 (comma
# separated; NULL when all were). Such a row is quarantined whole, with each field named.
UNDECODABLE_COLUMN = "_undecodable"
UNDECODABLE_RULE = "not valid UTF-8 text"

_RULES: dict[str, str] = {
    "int": "not an integer",
    "date": "not a valid date (YYYY-MM-DD)",
    "timestamp": "not a valid timestamp (ISO 8601)",
    "bool": "not a boolean (0/1)",
}


ISO_DATE = r"\d{4}-\d{2}-\d{2}"
NAIVE_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"


def dated_after(values: pd.Series, day: date, /) -> pd.Series:
    """True where a value is a well-formed ISO date later than ``day``.

    Malformed text is never "after": it stays in scope so that validation quarantines it.
    """
    text = values.astype("string")
    well_formed = text.str.fullmatch(ISO_DATE).fillna(False)
    return well_formed & (text > day.isoformat()).fillna(False)


# Plain integer text that fits int64 is converted exactly (through no float: an id beyond
# 2**53 would silently become its neighbour). Other numeric forms ("2.0", "1e3") go through
# a float, so only where a float holds every integer; anything else does not parse.
_INTEGER_TEXT = r"[+-]?\d{1,18}"
_FLOAT_EXACT = float(2**53)


def parse_integers(values: pd.Series, /) -> pd.Series:
    """Integers of raw text (``Int64``), ``<NA>`` where a value is not one (see above)."""
    text = values.astype("string").str.strip()
    plain = text.str.fullmatch(_INTEGER_TEXT).fillna(False)
    exact = text.where(plain).astype("Int64")
    numbers = pd.to_numeric(values.where(~plain), errors="coerce").astype("float64")
    finite = numbers.where(np.isfinite(numbers))
    integral = (finite == np.floor(finite)) & (finite.abs() <= _FLOAT_EXACT)
    written_otherwise = finite.where(integral).astype("Int64")
    return exact.fillna(written_otherwise)


def undecodable_reasons(fields: pd.Series, /) -> pd.Series:
    """Each row's reason from its undecodable fields ("" where there are none).

    >>> undecodable_reasons(pd.Series(["comment,email", None])).tolist()
    ['comment: not valid UTF-8 text; email: not valid UTF-8 text', '']
    """
    names = fields.astype("string").fillna("")
    return names.map(
        lambda text: "; ".join(f"{f}: {UNDECODABLE_RULE}" for f in text.split(",") if f)
    ).astype("string")


def _parse(values: pd.Series, kind: ColumnKind, naive_offset: str) -> pd.Series:
    if kind == "str":
        return values.astype("string")
    if kind == "int":
        return parse_integers(values)
    if kind == "date":
        return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")
    if kind == "timestamp":
        # The operational database writes local (JST) times; one without an offset is local.
        text = values.astype("string")
        naive = text.str.fullmatch(NAIVE_TIMESTAMP).fillna(False)
        text = text.mask(naive, text + naive_offset)
        return pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if kind == "bool":
        lowered = values.astype("string").str.strip().str.lower()
        mapping = {"1": True, "0": False, "true": True, "false": False}
        return lowered.map(mapping).astype("boolean")
    raise ValueError(f"unknown column kind {kind!r}")


def parse_columns(
    df: pd.DataFrame, /, *, schema: Mapping[str, ColumnKind], naive_offset: str = "+09:00"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert text columns to their kinds; return (typed clean rows, rejected raw rows).

    A value that is present but does not parse rejects its row; a missing value stays missing
    (whether it may be missing is the raw suites' question). A timestamp without an offset is
    read in ``naive_offset`` (the source's local time). Rejected rows keep their raw text
    plus ``_row`` (position in the input) and ``_reason`` naming each failing field and rule.
    """
    typed: dict[str, pd.Series] = {}
    reasons = pd.Series("", index=df.index, dtype="string")
    for column, kind in schema.items():
        raw = df[column]
        parsed = _parse(raw, kind, naive_offset)
        failed = raw.notna() & parsed.isna()
        if kind == "str":
            failed = pd.Series(False, index=df.index)
        if failed.any():
            reasons = reasons.mask(failed, reasons + f"{column}: {_RULES[kind]}; ")
        typed[column] = parsed
    bad = (reasons != "").to_numpy()
    clean = pd.DataFrame(typed, index=df.index)[~bad].reset_index(drop=True)
    rejected = df[bad].copy()
    rejected.insert(0, ROW_COLUMN, np.flatnonzero(bad))
    rejected[REASON_COLUMN] = reasons[bad].str.rstrip("; ")
    return clean, rejected.reset_index(drop=True)
