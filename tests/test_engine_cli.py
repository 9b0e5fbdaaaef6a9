"""`anonrelease anonymize` and `anonrelease check` end to end (CliRunner, files under tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from adult_data import ADULT, ADULT_COLUMNS
from typer.testing import CliRunner

from pipeline.cli import app

ADULT_QI = ADULT_COLUMNS
SMALL_LEVELS = ["--k", "3", "--l", "2"]
runner = CliRunner()


def _qi_args(columns: list[str]) -> list[str]:
    return [arg for column in columns for arg in ("--qi", column)]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A ';'-separated table with a unique (identifying) value and its hierarchies."""
    rows = ["zip;sex;disease"]
    rows += [f"1000{i % 4};{'MF'[i % 2]};{['flu', 'cold', 'gout'][i % 3]}" for i in range(23)]
    rows.append("19999;M;flu")  # the one person who must not be printed
    (tmp_path / "t.csv").write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    zips = [f"1000{i}" for i in range(4)] + ["19999"]
    (tmp_path / "t_hierarchy_zip.csv").write_text(
        "\n".join(f"{z};{z[:3]}**;*" for z in zips) + "\n", encoding="utf-8"
    )
    (tmp_path / "t_hierarchy_sex.csv").write_text("M;*\nF;*\n", encoding="utf-8")
    return tmp_path


def test_anonymize_adult_reproduces_arx_and_writes_report(tmp_path: Path) -> None:
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "anonymize",
            str(ADULT / "adult.csv"),
            "--hierarchies",
            str(ADULT),
            *_qi_args(ADULT_QI),
            "--k",
            "5",
            "--suppression-limit",
            "0.04",
            "--metric",
            "nu-entropy",
            "--output",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text(encoding="utf-8"))
    assert body["transformation"] == [1, 0, 1, 1, 3, 2, 2, 0, 1]
    assert body["loss"] == pytest.approx(255559.85455731067, rel=1e-9)
    assert body["suppressed"] == 906 and body["min_class_size"] >= 5
    assert 0 < body["nodes_checked"] < 12960 and body["seconds"] > 0
    assert body["risk"]["after"]["prosecutor_highest"] <= 0.2
    assert body["risk"]["before"]["prosecutor_highest"] == 1.0
    loss = body["information_loss"]
    assert list(loss) == ADULT_QI
    assert sum(a["entropy_bits"] for a in loss.values()) == pytest.approx(body["loss"], rel=1e-9)
    assert loss["age"]["intensity"] == 0.0 and loss["education"]["intensity"] == 1.0
    released = pd.read_csv(out, dtype="str", keep_default_na=False)
    assert len(released) == 30162 and list(released.columns) == ADULT_QI
    assert (released["sex"] != "Male").all()  # sex generalized to level 1


def test_no_solution_exits_3_with_null_transformation(small: Path) -> None:
    report = small / "r.json"
    result = runner.invoke(
        app,
        [
            "anonymize",
            str(small / "t.csv"),
            "--hierarchies",
            str(small),
            *_qi_args(["zip", "sex"]),
            "--sensitive",
            "disease",
            "--l",
            "4",
            "--suppression-limit",
            "0",
            "--output",
            str(small / "o.csv"),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 3
    assert json.loads(report.read_text(encoding="utf-8"))["transformation"] is None
    assert not (small / "o.csv").exists()


def test_anonymize_then_check_without_printing_values(small: Path) -> None:
    out = small / "o.parquet"
    result = runner.invoke(
        app,
        [
            "anonymize",
            str(small / "t.csv"),
            "--hierarchies",
            str(small),
            *_qi_args(["zip", "sex"]),
            "--sensitive",
            "disease",
            "--k",
            "3",
            "--l",
            "2",
            "--suppression-limit",
            "0.1",
            "--metric",
            "discernibility",
            "--output",
            str(out),
            "--report",
            str(small / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "19999" not in result.output
    check = runner.invoke(
        app,
        ["check", str(out), *_qi_args(["zip", "sex"]), *["--sensitive", "disease"], *SMALL_LEVELS],
    )
    assert check.exit_code == 0, check.output
    raw = runner.invoke(app, ["check", str(small / "t.csv"), *_qi_args(["zip", "sex"]), "--k", "2"])
    assert raw.exit_code == 1
    assert "19999" not in raw.output and "not met" in raw.output


def test_missing_hierarchy_names_the_column(small: Path) -> None:
    result = runner.invoke(
        app,
        [
            "anonymize",
            str(small / "t.csv"),
            "--hierarchies",
            str(small),
            *_qi_args(["zip", "disease"]),
            "--k",
            "2",
            "--suppression-limit",
            "0",
            "--output",
            str(small / "o.csv"),
            "--report",
            str(small / "r.json"),
        ],
    )
    assert result.exit_code == 2
    assert "'disease'" in result.output


def _small_anonymize(small: Path, *extra: str) -> tuple[int, str, dict | None]:
    report = small / "bounds.json"
    report.unlink(missing_ok=True)
    result = runner.invoke(
        app,
        [
            "anonymize",
            str(small / "t.csv"),
            "--hierarchies",
            str(small),
            *_qi_args(["zip", "sex"]),
            "--k",
            "3",
            "--suppression-limit",
            "0.05",
            "--output",
            str(small / "o.csv"),
            "--report",
            str(report),
            *extra,
        ],
    )
    body = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return result.exit_code, result.output, body


def test_weight_and_level_options_reach_the_search(small: Path) -> None:
    code, output, plain = _small_anonymize(small)
    assert code == 0, output
    assert plain is not None and plain["transformation"] == [0, 0]  # the outlier is suppressed
    code, output, body = _small_anonymize(
        small, "--min-level", "zip=1", "--max-level", "sex=0", "--weight", "zip=0.5"
    )
    assert code == 0, output
    assert body is not None and body["transformation"] == [1, 0]
    assert body["min_levels"] == {"zip": 1} and body["max_levels"] == {"sex": 0}
    assert body["weights"] == {"zip": 0.5}


@pytest.mark.parametrize(
    ("extra", "option", "needle"),
    [
        (["--weight", "zip"], "--weight", "COLUMN=VALUE"),
        (["--weight", "=1"], "--weight", "COLUMN=VALUE"),
        (["--weight", "zip=heavy"], "--weight", "'zip'"),
        (["--weight", "zip=-1"], "--weight", "'zip'"),
        (["--weight", "zip=inf"], "--weight", "'zip'"),
        (["--min-level", "zip=1.5"], "--min-level", "'zip'"),
        (["--max-level", "age=1"], "--max-level", "'age'"),
        (["--max-level", "zip=1", "--max-level", "zip=2"], "--max-level", "twice"),
    ],
)
def test_malformed_weight_and_level_options_are_one_line_usage_errors(
    small: Path, extra: list[str], option: str, needle: str
) -> None:
    code, output, body = _small_anonymize(small, *extra)
    assert code == 2
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"usage error: {option}:"), output
    assert needle in lines[0]
    assert body is None


@pytest.mark.parametrize(
    "extra",
    [["--max-level", "zip=3"], ["--min-level", "sex=1", "--max-level", "sex=0"]],
)
def test_levels_outside_the_hierarchy_exit_2_naming_the_column(
    small: Path, extra: list[str]
) -> None:
    code, output, _ = _small_anonymize(small, *extra)
    assert code == 2
    assert "LevelBoundsError" in output and ("'zip'" in output or "'sex'" in output)
    assert "19999" not in output
