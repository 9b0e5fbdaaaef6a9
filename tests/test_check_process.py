"""`anonrelease check` as a whole process: Arrow's readers give the values pandas gave, the
check on dictionary codes gives the report the frame check gives, and the process imports
neither pandas nor GX, Airflow, SciPy or SQLAlchemy."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.sources.table_files import read_coded, read_frame, table_columns
from transforms.class_keys import equivalence_classes
from transforms.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    TCloseness,
    check_privacy,
    check_privacy_codes,
)

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("pandas", "great_expectations", "airflow", "scipy", "sqlalchemy")


def _pandas_read(path: Path) -> pd.DataFrame:
    """What the commands read before Arrow (the reference)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype("str")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(65536)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    return pd.read_csv(
        path, sep=delimiter, dtype="str", keep_default_na=False, encoding="utf-8-sig"
    )


CSV_CASES = {
    "bom": "\ufeffa;b\nx;1\ny;\n".encode(),
    "quoted_newline": b'a,b\n"x\ny",1\n"z",2\n',
    "ragged": b"a,b,c\n1,2\n3,4,5\n",  # short row: pandas fills, Arrow refuses -> pandas
    "duplicate_header": b"a,a\n1,2\n",
    "crlf_blank_lines": b"a\tb\r\n1\t2\r\n\r\n3\t4\r\n",
    "na_words": b"a|b\nNA|null\n|x\n",
    "header_only": b"a,b\n",
}


def _parquet(path: Path) -> Path:
    pd.DataFrame(
        {
            "s": ["a", None, "b"],
            "i": [1, 2, 3],
            "f": [1.0, np.nan, 2.5],
            "c": pd.Categorical(["x", "y", "x"]),
            "ni": pd.array([1, None, 2], dtype="Int64"),
            "b": [True, False, True],
        }
    ).to_parquet(path)
    return path


def _values(df: pd.DataFrame, column: str) -> list[object]:
    return [None if pd.isna(v) else v for v in df[column]]


@pytest.mark.parametrize("case", [*CSV_CASES, "parquet"])
def test_arrow_reads_the_values_pandas_read(tmp_path: Path, case: str) -> None:
    if case == "parquet":
        path = _parquet(tmp_path / "t.parquet")
    else:
        path = tmp_path / f"{case}.csv"
        path.write_bytes(CSV_CASES[case])
    expected = _pandas_read(path)
    pd.testing.assert_frame_equal(read_frame(path), expected)
    assert table_columns(path) == list(expected.columns)
    n, coded = read_coded(path, columns=list(expected.columns))
    assert n == len(expected)
    for column, col in coded.items():
        decoded = [col.labels[c] if c >= 0 else None for c in col.codes]
        assert decoded == _values(expected, column)


def _frame(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [f"a{r[0]}" for r in rows],
            "b": ["*" if r[1] == 0 else f"b{r[1]}" for r in rows],
            "s": [f"s{r[2]}" for r in rows],
        }
    )


ROWS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 3)), min_size=1, max_size=60
)


@given(rows=ROWS, k=st.integers(1, 4))
def test_check_on_codes_reports_what_the_frame_check_reports(
    rows: list[tuple[int, int, int]], k: int
) -> None:
    df = _frame(rows)
    exclude = (df["b"] == "*").to_numpy()
    models = [
        KAnonymity(k),
        DistinctLDiversity("s", 2),
        EntropyLDiversity("s", 1.5),
        TCloseness("s", 0.5, "ordered"),
    ]
    expected = check_privacy(df, qi=["a", "b"], models=models, sensitive="s", exclude=exclude)
    codes = {c: pd.factorize(df[c]) for c in df.columns}
    got = check_privacy_codes(
        [(codes[c][0], len(codes[c][1])) for c in ("a", "b")],
        n=len(df),
        models=models,
        sensitive={"s": (codes["s"][0], [str(u) for u in codes["s"][1]])},
        exclude=exclude,
    )
    assert got == expected


@given(
    columns=st.lists(st.integers(1, 400), min_size=1, max_size=6).flatmap(
        lambda sizes: st.tuples(
            st.just(sizes),
            st.lists(st.tuples(*(st.integers(0, s - 1) for s in sizes)), min_size=1, max_size=80),
        )
    )
)
def test_sorted_classes_are_the_ranks_of_the_code_tuples(
    columns: tuple[list[int], list[tuple[int, ...]]],
) -> None:
    """Re-factorizing early (direct addressing) keeps the ids: ranks of the tuples."""
    sizes, rows = columns
    codes = np.asarray(rows, dtype=np.int64).reshape(len(rows), len(sizes))
    classes = equivalence_classes(
        [(codes[:, j], size) for j, size in enumerate(sizes)], n=len(rows), sort=True
    )
    _, expected = np.unique(codes, axis=0, return_inverse=True)
    assert classes.ids.tolist() == expected.reshape(-1).tolist()


def _run_check(path: Path, *args: str) -> dict[str, object]:
    """``anonrelease check`` in a fresh interpreter; the modules it loaded and its exit code."""
    code = (
        "import json, sys\n"
        "import typer\n"
        "from pipeline.cli import app\n"
        "command = typer.main.get_command(app)\n"
        f"rc = command.main(args={['check', str(path), *args]!r}, standalone_mode=False)\n"
        "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules)}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("levels", [["--k", "2"], ["--sensitive", "s", "--l", "2"]])
def test_check_imports_only_what_it_uses(tmp_path: Path, fmt: str, levels: list[str]) -> None:
    df = _frame([(i % 3, i % 2 + 1, i % 4) for i in range(30)])
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    result = _run_check(path, "--qi", "a", "--qi", "b", *levels)
    assert result["rc"] == 0
    modules = result["modules"]
    assert isinstance(modules, list)
    loaded = sorted({m.split(".")[0] for m in modules} & set(FORBIDDEN))
    assert loaded == []
    assert "pyarrow" in modules  # it did read through Arrow
