"""The shipped p-tables of the cell key method (CSV under data/ptables/), checked at load.

A p-table file is named for its parameters, ``counts_D{D}_V{V}_js{js}.csv`` (``V`` as written
by ``ptable_file_name``), and holds the R ``ptable`` package's columns ``i, j, p, v, p_int_lb,
p_int_ub``. Loading checks every property the cell key method relies on (rows sum to 1, mean
0, variance V where a row can have it, perturbations within D, no negative published count
and none in 1..js, zero stays zero); a file that fails raises a ``PTableFileError`` naming the
file, the row (original count ``i`` and its first CSV line) and the field, never a value.

Regenerate the shipped table (byte-identical; ``tests/test_ptable.py`` checks it)::

    .venv/bin/python -m pipeline.sources.ptables 3 2 2 data/ptables/counts_D3_V2_js2.csv
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

from pipeline.settings.paths import PTABLE_DIR
from transforms.errors import ConfigurationError
from transforms.ptable import (
    FRAME_COLUMNS,
    PTable,
    PTableError,
    generate_ptable,
    ptable_frame,
    ptable_from_frame,
)

SHIPPED_COUNT_PTABLE = PTABLE_DIR / "counts_D3_V2_js2.csv"
_NAME = re.compile(r"counts_D(?P<D>\d+)_V(?P<V>\d+(?:\.\d+)?)_js(?P<js>\d+)\.csv")


class PTableFileError(ConfigurationError):
    """A p-table file is missing, unreadable or lacks a property (names the file and row)."""

    def __init__(self, file: Path, problem: str) -> None:
        super().__init__(f"p-table {file}: {problem}")
        self.file, self.problem = file, problem


def ptable_file_name(D: int, V: float, js: int) -> str:
    """``counts_D3_V2_js2.csv`` for D=3, V=2, js=2 (``V`` without a trailing ``.0``)."""
    v_text = f"{V:g}" if float(V) != int(V) else str(int(V))
    return f"counts_D{D}_V{v_text}_js{js}.csv"


def _parameters(file: Path) -> tuple[int, float, int]:
    match = _NAME.fullmatch(file.name)
    if not match:
        raise PTableFileError(file, "the name must be counts_D<D>_V<V>_js<js>.csv")
    return int(match["D"]), float(match["V"]), int(match["js"])


def load_ptable(path: str | Path | None = None) -> PTable:
    """The p-table in ``path`` (the shipped one by default), with its properties checked."""
    file = Path(path) if path is not None else SHIPPED_COUNT_PTABLE
    D, V, js = _parameters(file)
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise PTableFileError(file, "not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PTableFileError(file, f"cannot be read as CSV ({type(exc).__name__})") from None
    if list(frame.columns) != list(FRAME_COLUMNS):
        raise PTableFileError(file, f"the columns must be {', '.join(FRAME_COLUMNS)}")
    try:
        return ptable_from_frame(frame, D=D, V=V, js=js)
    except PTableError as exc:
        raise PTableFileError(file, _where(exc, frame)) from None


def _where(exc: PTableError, frame: pd.DataFrame) -> str:
    """The error's text, with the first CSV line of its row (line 1 is the header)."""
    if exc.row is None:
        return str(exc).removeprefix("p-table ")
    lines = frame.index[frame["i"].str.strip() == str(exc.row)]
    line = f" (line {int(lines[0]) + 2})" if len(lines) else ""
    field = f", field {exc.column!r}" if exc.column else ""
    return f"row i={exc.row}{line}{field}: {exc.problem}"


def write_ptable(ptable: PTable, path: str | Path) -> Path:
    """Write ``ptable`` in the shipped CSV format (the same bytes for the same table)."""
    file = Path(path)
    file.write_text(ptable_csv(ptable), encoding="utf-8")
    return file


def ptable_csv(ptable: PTable) -> str:
    text: str = ptable_frame(ptable).to_csv(index=False, lineterminator="\n")
    return text


def main(argv: list[str] | None = None) -> None:
    """``python -m pipeline.sources.ptables D V JS OUT``: generate and write a p-table."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        raise SystemExit("usage: python -m pipeline.sources.ptables D V JS OUT.csv")
    D, V, js, out = int(args[0]), float(args[1]), int(args[2]), Path(args[3])
    if out.name != ptable_file_name(D, V, js):
        raise SystemExit(f"name the file {ptable_file_name(D, V, js)} (its parameters)")
    write_ptable(generate_ptable(D, V, js), out)
    print(out)


if __name__ == "__main__":
    main()
