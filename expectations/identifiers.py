"""Detectors for direct identifiers in released data: the "no one can be named" part of the promise.

A direct identifier is a value that names, locates or contacts a person on its own: an email
address, a Japanese phone number, a postal code, a street address with chome-ban-go, a My
Number (individual number) or a personal name. The scan works on text after Unicode NFKC
normalization (full-width digits, ＠ and hyphens become ASCII) and after dash variants between
digits (ー, −, ‐, – ...) become ``-``, so ``０９０ー１２３４ー５６７８`` is caught like
``090-1234-5678``.

Only counts come out (per column, per kind): never the matching values.

Rules, chosen to keep ordinary words and numbers out:

- ``email``: ``local@domain.tld``.
- ``phone``: a leading ``0`` with hyphens (``03-1234-5678``, ``090-1234-5678``, ``0120-123-456``),
  in brackets (``(03)1234-5678``), 10-11 digits starting with ``0`` (``09012345678``) or
  ``+81``.
- ``postal_code``: ``〒NNN-NNNN``, ``〒NNNNNNN``, ``NNN-NNNN`` and, in text columns only, a bare
  ``NNNNNNN`` (7 digits not part of a longer number). Numeric columns are not checked for postal
  codes or phones: an amount of 1,500,000 yen is not a postal code.
- ``street_address``: chome-ban-go (``1丁目2番3号``, ``1丁目2-3``, ``2番地3号``), a kanji/kana
  place name directly followed by ``1-2-3`` (not starting with 0: that is a phone number), or
  prefecture/city + a block number.
- ``my_number``: 12 digits (optionally ``NNNN-NNNN-NNNN``) whose check digit is valid
  (the digit rule of the My Number Act's ordinance), which drops ~10/11 of random 12-digit numbers.
  Integer columns are checked too, and so are the whole numbers of float columns (an integer
  column with a null reads as float).
- ``person_name``: a family name directly followed by a given name (``佐藤花子``,
  ``サトウ ハナコ``), a name followed by an honorific or a self-introduction (``佐藤さん``,
  ``花子様``, ``佐藤と申します``), or a column whose values are mostly (>= 30 %) bare dictionary
  names (a ``family_name`` column). A single family name inside ordinary text (``中田``,
  ``松本市``) is not flagged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from expectations.names import NameDictionary, load_name_dictionary
from transforms.errors import ConfigurationError

IdentifierKind = Literal[
    "email", "phone", "postal_code", "street_address", "my_number", "person_name"
]
ALL_KINDS: tuple[IdentifierKind, ...] = (
    "email",
    "phone",
    "postal_code",
    "street_address",
    "my_number",
    "person_name",
)
DEFAULT_SAMPLE_SIZE = 10_000
DEFAULT_SEED = 0
NAME_COLUMN_SHARE = 0.3

_DASHES = re.compile(r"(?<=\d)[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\ufe63](?=\d)")
_SPACE = re.compile(r"\s+")

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\d\-])0\d{1,4}-\d{1,4}-\d{3,4}(?![\d\-])"
    r"|\(0\d{1,4}\)\s?\d{1,4}-\d{4}(?![\d\-])"
    r"|(?<![\d\-])0\d{9,10}(?![\d\-])"
    r"|\+81[\-\s]?\d{1,4}[\-\s]?\d{1,4}[\-\s]?\d{4}(?!\d)"
)
POSTAL_MARKED = re.compile(r"〒\s?\d{3}-?\d{4}(?!\d)|(?<![\d\-])\d{3}-\d{4}(?![\d\-])")
POSTAL_BARE = re.compile(r"(?<![\d\-])\d{7}(?![\d\-])")
_CJK = r"\u3040-\u30ff\u3400-\u9fff々〆ヶ"
STREET_ADDRESS = re.compile(
    r"\d{1,3}丁目\s?\d{1,4}(?:番地?|-)\s?\d{0,4}"
    r"|\d{1,4}番地?\s?\d{1,4}号"
    rf"|[{_CJK}]\s?[1-9]\d{{0,3}}-\d{{1,4}}-\d{{1,4}}(?![\d\-])"
    rf"|[都道府県市区町村][{_CJK}]{{0,12}}?\d{{1,4}}-\d{{1,4}}(?![\d\-])"
)
# ASCII digits only: the check digit arithmetic reads them as bytes (other scripts' digits,
# which NFKC leaves alone, made the whole scan raise)
MY_NUMBER = re.compile(r"(?<![\d\-])(\d{4})-?(\d{4})-?(\d{4})(?![\d\-])", re.ASCII)
HONORIFICS = ("さん", "様", "さま", "殿", "氏", "くん", "ちゃん", "君", "と申します", "といいます")
_MY_NUMBER_WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)


@dataclass(frozen=True)
class ScanReport:
    """Counts of values that look like direct identifiers: per column, per kind. No values."""

    rows_total: int
    rows_scanned: int
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    cells: Mapping[str, int] = field(default_factory=dict)

    @property
    def flagged(self) -> dict[str, int]:
        """Columns with at least one hit -> number of values with a hit (of any kind)."""
        return {col: n for col, n in self.cells.items() if n}

    @property
    def total_hits(self) -> int:
        return sum(self.flagged.values())


def my_number_check_digit_valid(numbers: Iterable[str]) -> np.ndarray:
    """Vectorized My Number check: True where the 12th digit equals the check digit of the 11.

    Check digit = 11 - (sum(P_n * Q_n) mod 11), or 0 when the remainder is 0 or 1, where P_n is
    the n-th digit counted from the right of the first eleven and Q_n = n + 1 (n <= 6) or
    n - 5 (n >= 7). Read left to right, the weights are 6,5,4,3,2,7,6,5,4,3,2.
    """
    values = [n for n in numbers]
    if not values:
        return np.zeros(0, dtype=bool)
    digits: np.ndarray = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(
        -1, 12
    )
    digits = digits.astype(np.int64) - ord("0")
    remainder = (digits[:, :11] * _MY_NUMBER_WEIGHTS).sum(axis=1) % 11
    check = np.where(remainder <= 1, 0, 11 - remainder)
    return check == digits[:, 11]


def normalize_text(values: pd.Series) -> pd.Series:
    """NFKC-normalize text values and unify dashes between digits (object dtype, nulls dropped)."""
    text = values.dropna().astype(str).astype(object)
    text = text.map(lambda s: unicodedata.normalize("NFKC", s))
    return text.str.replace(_DASHES, "-", regex=True)


def _name_patterns(names: NameDictionary) -> tuple[re.Pattern[str], re.Pattern[str]]:
    def alternation(words: Iterable[str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))

    family, given = alternation(names.family), alternation(names.given)
    either = alternation(names.family | names.given)
    full = re.compile(rf"(?:{family})[ \u3000]?(?:{given})")
    honorific = re.compile(rf"(?:{either})[ \u3000]?(?:{'|'.join(HONORIFICS)})")
    return full, honorific


def _scan_masks(
    values: pd.Series, kinds: Sequence[IdentifierKind], names: NameDictionary | None
) -> dict[str, np.ndarray]:
    """Per kind, a boolean mask over the column's non-null values: True where it matches."""
    dtype = values.dtype
    masks: dict[str, np.ndarray] = {}
    if values.empty or pd.api.types.is_bool_dtype(dtype):
        return masks
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        if "my_number" in kinds and pd.api.types.is_float_dtype(dtype):
            # an integer column with a null reads as float: its whole numbers are still checked
            numbers = values.dropna().to_numpy(dtype="float64")
            whole = np.isfinite(numbers) & (numbers >= 0) & (numbers < 1e15)
            whole &= np.floor(np.where(whole, numbers, 0.0)) == np.where(whole, numbers, 0.0)
            text = pd.Series(np.where(whole, numbers, 0.0).astype(np.int64), dtype="int64")
            text = text.astype(str).astype(object).where(whole, "")
            masks["my_number"] = _my_number_mask(text.where(text.str.len() == 12, ""))
        elif "my_number" in kinds and pd.api.types.is_integer_dtype(dtype):
            text = values.dropna().astype("int64").astype(str).astype(object)
            masks["my_number"] = _my_number_mask(text.where(text.str.len() == 12, ""))
        return masks
    text = normalize_text(values)
    if text.empty:
        return masks

    def has(pattern: re.Pattern[str]) -> np.ndarray:
        return text.str.contains(pattern).to_numpy(dtype=bool)

    if "email" in kinds:
        masks["email"] = has(EMAIL)
    if "phone" in kinds:
        masks["phone"] = has(PHONE)
    if "postal_code" in kinds:
        masks["postal_code"] = has(POSTAL_MARKED) | has(POSTAL_BARE)
    if "street_address" in kinds:
        masks["street_address"] = has(STREET_ADDRESS)
    if "my_number" in kinds:
        masks["my_number"] = _my_number_mask(text)
    if "person_name" in kinds:
        names = names or load_name_dictionary()
        full, honorific = _name_patterns(names)
        in_text = has(full) | has(honorific)
        bare = text.str.replace(_SPACE, "", regex=True).isin(names.family | names.given)
        bare_mask = bare.to_numpy(dtype=bool)
        masks["person_name"] = (
            in_text | bare_mask if bare_mask.mean() >= NAME_COLUMN_SHARE else in_text
        )
    return masks


def _my_number_mask(text: pd.Series) -> np.ndarray:
    text = text.reset_index(drop=True)  # positions, whatever the frame's index
    found = text.str.extractall(MY_NUMBER)
    mask = np.zeros(len(text), dtype=bool)
    if found.empty:
        return mask
    numbers = (found[0] + found[1] + found[2]).astype(str)
    valid = pd.Series(my_number_check_digit_valid(numbers.tolist()), index=numbers.index)
    per_value = valid.groupby(level=0).any()
    positions = text.index.get_indexer(per_value.index[per_value.to_numpy(dtype=bool)])
    mask[positions] = True
    return mask


def scan_values(
    values: pd.Series,
    /,
    *,
    kinds: Sequence[IdentifierKind] = ALL_KINDS,
    names: NameDictionary | None = None,
) -> dict[str, int]:
    """Count values of one column that contain each kind of direct identifier."""
    masks = _scan_masks(values, kinds, names)
    return {kind: int(masks[kind].sum()) if kind in masks else 0 for kind in kinds}


def scan_frame(
    df: pd.DataFrame,
    /,
    *,
    columns: Sequence[str] | None = None,
    kinds: Sequence[IdentifierKind] = ALL_KINDS,
    sample_size: int | None = DEFAULT_SAMPLE_SIZE,
    seed: int = DEFAULT_SEED,
) -> ScanReport:
    """Scan columns (all by default) of ``df``; tables larger than ``sample_size`` rows are
    sampled with a fixed seed, so the same input always gives the same counts."""
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown:
        raise UnknownIdentifierKindError(tuple(unknown))
    if sample_size is not None and (isinstance(sample_size, bool) or int(sample_size) < 1):
        raise InvalidSampleSizeError(sample_size)  # 0 would scan nothing and pass
    cols = list(df.columns if columns is None else columns)
    frame = df
    if sample_size is not None and len(df) > sample_size:
        frame = df.sample(n=sample_size, random_state=seed)
    names = load_name_dictionary() if "person_name" in kinds else None
    counts: dict[str, dict[str, int]] = {}
    cells: dict[str, int] = {}
    for col in cols:
        masks = _scan_masks(frame[col], kinds, names)
        counts[str(col)] = {k: int(masks[k].sum()) if k in masks else 0 for k in kinds}
        cells[str(col)] = int(np.logical_or.reduce(list(masks.values())).sum()) if masks else 0
    return ScanReport(rows_total=len(df), rows_scanned=len(frame), counts=counts, cells=cells)


class UnknownIdentifierKindError(ConfigurationError):
    """A scan was asked for an identifier kind this module does not know."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        super().__init__(f"unknown identifier kinds {list(kinds)}; known: {list(ALL_KINDS)}")


class InvalidSampleSizeError(ConfigurationError):
    """A scan sample must hold at least one row (``None`` scans every row)."""

    def __init__(self, sample_size: object) -> None:
        self.sample_size = sample_size
        super().__init__(
            f"sample_size must be a positive number of rows or None (all rows), got {sample_size}"
        )
