"""Delivered file formats: a candidate's CSV (UTF-8) rewritten in the recipient's format.

The gate checks the candidate CSV; publishing writes what the recipient asked for from those
exact bytes, and the manifest hashes what is delivered:

- ``csv-utf8``: the candidate's bytes, unchanged;
- ``csv-utf8-bom``: the same bytes behind a UTF-8 byte order mark (spreadsheets then read
  Japanese text as UTF-8);
- ``csv-cp932``: the same text encoded as Shift_JIS (Windows code page 932), for spreadsheet
  users in Japan. A character cp932 cannot encode fails that recipient's publish (the
  message names the file, never the character);
- ``parquet``: the same table; a column whose every value is a plain integer (no leading
  zero) is int64, every other column text (postal prefixes such as ``001`` keep their zeros).
  Written without pandas metadata and with fixed options, so the same CSV gives the same bytes.

:func:`encode_text` writes a text file delivered beside the data (the statement of anonymously
processed information) in the encoding of the recipient's CSV: UTF-8, UTF-8 with a byte order
mark, or cp932 (strictly: a character cp932 cannot encode fails, naming the file); a Parquet
recipient gets UTF-8.

:func:`shape` gives the rows and columns the manifest states for a delivered file, the same
function at publish and at verify.
"""

from __future__ import annotations

import csv
import io
import re
from typing import get_args

from pipeline.settings.partners import FileFormat
from transforms.errors import DataError

BOM = b"\xef\xbb\xbf"
FORMATS: tuple[str, ...] = get_args(FileFormat)
ENCODINGS: dict[str, str] = {"csv-utf8": "utf-8", "csv-utf8-bom": "utf-8-sig", "csv-cp932": "cp932"}
_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")


class FormatError(DataError):
    """A file cannot be written in the recipient's format (the message names file and format)."""


def suffix(file_format: FileFormat) -> str:
    """The file name suffix of a format (``.parquet`` or ``.csv``)."""
    return ".parquet" if file_format == "parquet" else ".csv"


def encode(payload: bytes, file_format: FileFormat, *, name: str) -> bytes:
    """The bytes of a UTF-8 CSV ``payload`` delivered as ``file_format``."""
    if file_format == "csv-utf8":
        return payload
    if file_format == "csv-utf8-bom":
        return payload if payload.startswith(BOM) else BOM + payload
    text = payload.decode("utf-8-sig")
    if file_format == "csv-cp932":
        return _cp932(text, name, "deliver it as csv-utf8-bom or parquet")
    return _parquet(text)


def encode_text(text: str, file_format: FileFormat, *, name: str) -> bytes:
    """A delivered text file's bytes in the encoding of ``file_format`` (Parquet: UTF-8)."""
    if file_format == "csv-utf8-bom":
        return BOM + text.encode("utf-8")
    if file_format == "csv-cp932":
        return _cp932(
            text, name, "change the text or deliver to this recipient as csv-utf8-bom or parquet"
        )
    return text.encode("utf-8")


def _cp932(text: str, name: str, advice: str) -> bytes:
    """Shift_JIS bytes, or a FormatError naming the file (never the character): nothing is
    replaced silently."""
    try:
        return text.encode("cp932")
    except UnicodeEncodeError:
        raise FormatError(
            f"{name}: holds a character that csv-cp932 (Shift_JIS) cannot encode; {advice}"
        ) from None


def _parquet(text: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(csv.reader(io.StringIO(text)))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    arrays = []
    for i, _ in enumerate(header):
        values = [r[i] for r in body]
        if values and all(_INTEGER.match(v) for v in values):
            arrays.append(pa.array([int(v) for v in values], type=pa.int64()))
        elif all(v == "" or _INTEGER.match(v) for v in values) and any(values):
            # Integers with blanks (a suppressed cell): int64 with nulls.
            arrays.append(pa.array([int(v) if v else None for v in values], type=pa.int64()))
        else:
            arrays.append(pa.array(values, type=pa.string()))
    table = pa.Table.from_arrays(arrays, names=header)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=False, store_schema=False)
    return sink.getvalue()


def shape(name: str, payload: bytes, file_format: str) -> tuple[int, tuple[str, ...]]:
    """Data rows and column names of a delivered file (text files: 0 rows, no columns)."""
    if name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(io.BytesIO(payload)).metadata
        except (pa.ArrowException, OSError):
            return 0, ()
        return int(meta.num_rows), tuple(meta.schema.to_arrow_schema().names)
    if not name.endswith(".csv"):
        return 0, ()
    rows = max(payload.count(b"\n") - 1, 0)
    header = payload.split(b"\n", 1)[0]
    try:
        text = header.decode(ENCODINGS.get(file_format, "utf-8-sig"))
    except UnicodeDecodeError:
        return rows, ()
    return rows, tuple(next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), []))
