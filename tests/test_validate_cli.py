"""``anonrelease validate``: exit codes 0/1/2, sniffed CSV or Parquet, counts without values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()

ROWS = [
    ("20-29", "F", "facial", "Qorblat Zyxwa"),
    ("20-29", "F", "body", "Trandil Vexmo"),
    ("30-39", "M", "nail", "Plimsor Quade"),
    ("30-39", "M", "facial", "Harnu Oxtel"),
]


@pytest.fixture
def micro_csv(tmp_path: Path) -> Path:
    path = tmp_path / "micro.csv"
    lines = ["age;gender;course;nickname", *[";".join(r) for r in ROWS]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", *args], env={"COLUMNS": "240"})
    return result.exit_code, result.output


def test_passing_suite_exits_0(micro_csv: Path) -> None:
    code, out = _run("--suite", "released_microdata", str(micro_csv), "--qi", "age", "--k", "2")
    assert code == 0, out
    assert "PASSED" in out and "4 rows" in out


def test_failing_suite_exits_1_and_shows_counts_only(micro_csv: Path) -> None:
    args = ["--suite", "released_microdata", str(micro_csv), "--qi", "age", "--qi", "course"]
    code, out = _run(*args, "--k", "2")
    assert code == 1, out
    assert "FAILED" in out and "expect_table_to_be_k_anonymous" in out
    for row in ROWS:
        for value in row:
            if len(value) > 6:
                assert value not in out


def test_json_output(micro_csv: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "micro.parquet"
    pd.DataFrame(ROWS, columns=["age", "gender", "course", "nickname"]).to_parquet(parquet)
    code, out = _run("--suite", "released_microdata", str(parquet), "--qi", "age", "--k", "3")
    assert code == 1
    code, out = _run(
        "--suite", "released_microdata", str(parquet), "--qi", "age", "--k", "3", "--json"
    )
    assert code == 1
    report = json.loads(out)
    assert report["success"] is False
    assert report["statistics"]["rows"] == 4
    assert report["failures"][0]["expectation"] == "expect_table_to_be_k_anonymous"
    assert report["failures"][0]["unexpected_count"] == 4


def test_configuration_errors_exit_2(micro_csv: Path, tmp_path: Path) -> None:
    code, out = _run("--suite", "released_microdata", str(micro_csv), "--qi", "zip", "--k", "2")
    assert code == 2 and "zip" in out
    code, out = _run("--suite", "released_microdata", str(micro_csv), "--qi", "age")
    assert code == 2 and "'k'" in out
    code, out = _run("--suite", "nope", str(micro_csv))
    assert code == 2 and "no such suite" in out
    code, out = _run("--suite", "released_tables", str(tmp_path / "absent.csv"))
    assert code == 2 and "no such file" in out


def test_raw_suite_with_referential_context(tmp_path: Path) -> None:
    usage = tmp_path / "usage.tsv"
    usage.write_text(
        "usage_id\tcustomer_id\tstore_id\tvisit_date\tcourse_category\tamount_yen\n"
        "1\t1\t1\t2025-01-01\tfacial\t5000\n"
        "2\t7\t1\t2025-01-02\tnail\t3000\n",
        encoding="utf-8",
    )
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\n1\n2\n", encoding="utf-8")
    args = ["--suite", "raw_usage", str(usage), "--run-date", "2026-01-01"]
    code, out = _run(*args)
    assert code == 2 and "customer_ids" in out
    code, out = _run(*args, "--customer-ids", str(customers), "--json")
    assert code == 1
    (failure,) = json.loads(out)["failures"]
    assert failure == {
        "expectation": "reference:customer_ids",
        "column": "customer_id",
        "unexpected_count": 1,
        "detail": "1 of 2 rows",
    }
