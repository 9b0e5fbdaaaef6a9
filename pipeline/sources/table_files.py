"""Tables the engine commands read: CSV (delimiter sniffed) or Parquet, every value a string.

Read through Arrow's multithreaded readers (``pyarrow.csv.read_csv``, ``pyarrow.parquet``),
only the columns asked for, into dictionary-encoded columns: ``read_coded`` gives each column
as integer codes into its distinct labels, which ``transforms.privacy_models`` counts without
a DataFrame, so ``anonrelease check`` never imports pandas. ``read_frame`` gives the whole
table as a DataFrame of strings for ``anonrelease anonymize``.

The values are those pandas gave before (``pd.read_csv(dtype=str, keep_default_na=False)``,
``pd.read_parquet(...).astype("str")``): whatever Arrow would read differently (a ragged or
undecodable CSV, a duplicate or empty header name, a Parquet column that is neither text nor
integer) is read by that pandas path instead, so its result and its errors stay the same.
"""

from __future__ import annotations

import csv
import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["CodedColumn", "read_coded", "read_frame", "table_columns"]

PARQUET_SUFFIXES = {".parquet", ".pq"}
_SAMPLE = 65536  # bytes read to sniff the delimiter and the header
_BLOCK = 1 << 24  # Arrow CSV block: few chunks to unify, still one per core and more


@dataclass(frozen=True)
class CodedColumn:
    """One column as codes into its distinct labels (-1: a missing value, Parquet only)."""

    codes: np.ndarray  # integer (Arrow's index width)
    labels: tuple[str, ...]

    def class_codes(self) -> tuple[np.ndarray, int]:
        """``(codes, cardinality)`` for equivalence classes: a missing value is one more value."""
        size = len(self.labels)
        if len(self.codes) and int(self.codes.min()) < 0:
            return np.where(self.codes < 0, size, self.codes), size + 1
        return self.codes, max(size, 1)

    def code_of(self, label: str) -> int | None:
        """The code of ``label``, or None when no row has it."""
        try:
            return self.labels.index(label)
        except ValueError:
            return None


def is_parquet(path: Path, /) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def _dialect(path: Path) -> tuple[str, list[str]]:
    """The delimiter (sniffed among , ; tab |) and the header's names."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(_SAMPLE)
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
        handle.seek(0)
        if handle.read(1) != "\ufeff":
            handle.seek(0)
        header = next(csv.reader(handle, delimiter=delimiter), [])
    return delimiter, header


def table_columns(path: Path, /) -> list[str]:
    """The column names of a CSV or Parquet file (read from its header or schema)."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        return _parquet_names(pq.ParquetFile(path))
    header = _dialect(path)[1]
    if len(set(header)) == len(header) and "" not in header:
        return header
    return list(_pandas_csv(path, nrows=0).columns)  # pandas' names for the odd ones


def _parquet_names(file: Any) -> list[str]:
    """Data columns only: pandas' index columns are not columns of the frame it reads."""
    metadata = file.schema_arrow.metadata or {}
    names = list(file.schema_arrow.names)
    if b"pandas" not in metadata:
        return names
    import json

    index = json.loads(metadata[b"pandas"]).get("index_columns", [])
    return [n for n in names if n not in {i for i in index if isinstance(i, str)}]


def _has_quote(path: Path) -> bool:
    """Whether any value is quoted (only then can a value hold a newline)."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(b'"') >= 0


def _ints(array: pa.Array) -> np.ndarray:
    """An integer Arrow array as numpy (its own width), -1 where null; no pandas (Arrow's own
    ``to_numpy`` imports it)."""
    import pyarrow as pa

    width = array.type.bit_width // 8
    dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(array.type) else 'u'}{width}")
    buffer = array.buffers()[1]
    values = np.frombuffer(buffer, dtype=dtype, count=len(array), offset=array.offset * width)
    if not array.null_count:
        return values
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, bitorder="little")[array.offset : array.offset + len(array)]
    return np.where(valid == 1, values, -1)


def _coded(chunked: pa.ChunkedArray) -> CodedColumn:
    """A dictionary-encoded column as codes into one dictionary (unified over the chunks)."""
    if not chunked.num_chunks:
        return CodedColumn(np.zeros(0, dtype=np.int32), ())
    chunked = chunked.unify_dictionaries()
    labels = tuple(str(v) for v in chunked.chunk(0).dictionary.to_pylist())
    codes = np.concatenate([_ints(chunk.indices) for chunk in chunked.chunks])
    return CodedColumn(codes, labels)


def _read_csv_arrow(
    path: Path, columns: Sequence[str], *, dictionary: bool = True
) -> pa.Table | None:
    import pyarrow as pa
    import pyarrow.csv as pv

    delimiter, header = _dialect(path)
    if len(set(header)) != len(header) or "" in header or not set(columns) <= set(header):
        return None  # pandas renames these columns; its reader decides
    kind = pa.dictionary(pa.int32(), pa.string()) if dictionary else pa.string()
    try:
        return pv.read_csv(
            path,
            read_options=pv.ReadOptions(block_size=_BLOCK, encoding="utf8"),
            parse_options=pv.ParseOptions(delimiter=delimiter, newlines_in_values=_has_quote(path)),
            convert_options=pv.ConvertOptions(
                include_columns=list(columns),
                column_types=dict.fromkeys(columns, kind),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # ragged rows, bad UTF-8, ...: pandas reads it or raises as before


def _pandas_csv(path: Path, *, nrows: int | None = None) -> pd.DataFrame:
    import pandas as pd

    delimiter, _ = _dialect(path)
    return pd.read_csv(
        path,
        sep=delimiter,
        dtype="str",
        keep_default_na=False,
        encoding="utf-8-sig",
        nrows=nrows,
    )


def _from_frame(df: pd.DataFrame, columns: Sequence[str]) -> dict[str, CodedColumn]:
    import pandas as pd

    out = {}
    for column in columns:
        codes, uniques = pd.factorize(df[column], use_na_sentinel=True)
        out[column] = CodedColumn(codes.astype(np.int64), tuple(str(u) for u in uniques))
    return out


def _parquet_kind(field: pa.Field) -> str:
    """'text' (string or dictionary of strings), 'int' (read as is), else 'other'."""
    import pyarrow as pa

    kind = field.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_integer(kind) and not pa.types.is_dictionary(field.type):
        return "int"
    return "other"


def read_coded(path: Path, /, *, columns: Sequence[str]) -> tuple[int, dict[str, CodedColumn]]:
    """The number of rows and the given columns as codes (each column must be in the file)."""
    if is_parquet(path):
        return _read_parquet_coded(path, columns)
    table = _read_csv_arrow(path, columns)
    if table is None:
        df = _pandas_csv(path)
        return len(df), _from_frame(df, columns)
    return table.num_rows, {c: _coded(table.column(c)) for c in columns}


def _read_parquet_coded(path: Path, columns: Sequence[str]) -> tuple[int, dict[str, CodedColumn]]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(path).schema_arrow
    kinds = {c: _parquet_kind(schema.field(c)) for c in columns}
    text = [c for c in columns if kinds[c] == "text"]
    file = pq.ParquetFile(path, read_dictionary=text)
    table = file.read(
        columns=[c for c in columns if kinds[c] != "other"], use_pandas_metadata=False
    )
    out: dict[str, CodedColumn] = {}
    for column in columns:
        if kinds[column] == "text":
            out[column] = _coded(table.column(column))
        elif kinds[column] == "int" and not table.column(column).null_count:
            out[column] = _coded(pc.dictionary_encode(table.column(column)))
        else:  # floats, dates, nullable integers...: as pandas turns them into strings
            import pandas as pd

            frame = pd.read_parquet(path, columns=[column]).astype("str")
            out.update(_from_frame(frame, [column]))
    return file.metadata.num_rows, out


def read_frame(path: Path, /) -> pd.DataFrame:
    """The whole table as a DataFrame of strings (read by Arrow; the same frame as pandas')."""
    import pandas as pd

    if is_parquet(path):
        return pd.read_parquet(path).astype("str")
    header = _dialect(path)[1]
    table = _read_csv_arrow(path, header, dictionary=False) if header else None
    if table is None:
        return _pandas_csv(path)
    return table.to_pandas().astype("str")
