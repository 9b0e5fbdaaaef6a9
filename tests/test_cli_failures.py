"""Every CLI failure is one line and an exit code: 2 usage and configuration, 1 a failed check or
data, 3 already running. Options are checked before any work; messages print literally;
``--debug`` shows the traceback, and without it a foreign error's text never appears."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.demo.generator import generate_demo_database
from pipeline.release.decision_record import DecisionRecord

RUN_DATE = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "anonrelease"
MARKER = "sjis.leak@example.com 090-1111-3333"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.sqlite'}"
    generate_demo_database(url, customers=300, seed=9, as_of=RUN_DATE, dirty_rate=0.001)
    return url


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str) -> Path:
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", source)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    return tmp_path


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    return result.exit_code, result.output


def _one_line(output: str) -> str:
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def _nothing_written(root: Path) -> None:
    assert not (root / "warehouse").exists() and not (root / "releases").exists()


@pytest.mark.parametrize("value", ["2026-13-45", "yesterday", "20261124", "2026-11-24T03:00"])
def test_a_date_that_is_not_a_real_date_is_a_one_line_usage_error(env: Path, value: str) -> None:
    for command in (["run"], ["summary"], ["dag-test"]):
        code, out = _invoke(*command, "--date", value)
        assert code == 2, out
        line = _one_line(out)
        assert "--date" in line and "YYYY-MM-DD" in line and repr(value) in line
    _nothing_written(env)


def test_out_pointing_at_a_file_is_refused_before_any_work(env: Path) -> None:
    """Before: found only after the whole pipeline ran, as a traceback."""
    a_file = env / "releases.txt"
    a_file.write_text("not a folder\n")
    code, out = _invoke("run", "--date", "2026-11-24", "--out", str(a_file))
    assert code == 2
    line = _one_line(out)
    assert "--out" in line and "is a file, expected a folder" in line
    code, out = _invoke("run", "--date", "2026-11-24", "--workdir", str(a_file / "w"))
    assert code == 2 and "--workdir" in _one_line(out)
    _nothing_written(env)


def test_a_future_run_date_is_refused_unless_allowed(env: Path, monkeypatch) -> None:
    code, out = _invoke("run", "--date", "2030-01-01")
    assert code == 2
    line = _one_line(out)
    assert "run date 2030-01-01 is after today" in line and "--allow-future-date" in line
    _nothing_written(env)
    monkeypatch.delenv("ANONRELEASE_HMAC_KEY")  # allowed: preflight goes on, to the key
    code, out = _invoke("run", "--date", "2030-01-01", "--allow-future-date")
    assert code == 2
    line = _one_line(out)
    assert "hmac key" in line and "run date" not in line
    assert "ANONRELEASE_ALLOW_FUTURE_DATE" not in os.environ  # restored after the command
    _nothing_written(env)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("not-sqlite", r"notes\.sqlite: not an SQLite database file"),
        ("truncated", r"truncated\.sqlite: truncated \("),
        ("missing", r"source database not found: .*absent\.sqlite"),
        ("driver", r"the driver for 'mysql\+mysqldb' is not installed"),
        ("key-file", r"HMAC key file .*absent\.key \(ANONRELEASE_HMAC_KEY_FILE\) not found"),
        ("timezone", r"release\.yaml: timezone: .*unknown time zone 'Asia/Tokio'"),
        ("partners", r"recipients\.1\(Sponsor AdNet\)\.id: .*'\^\[a-z0-9\]\[a-z0-9_-\]\*\$'"),
    ],
)
def test_configuration_errors_are_one_line_naming_file_and_field(
    env: Path, monkeypatch: pytest.MonkeyPatch, source: str, case: str, reason: str
) -> None:
    import re

    import yaml

    if case == "not-sqlite":
        (env / "notes.sqlite").write_text(f"name,phone\n{MARKER}\n")
        monkeypatch.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{env}/notes.sqlite")
    elif case == "truncated":
        data = Path(source.removeprefix("sqlite:///")).read_bytes()
        (env / "truncated.sqlite").write_bytes(data[: len(data) // 2])
        monkeypatch.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{env}/truncated.sqlite")
    elif case == "missing":
        monkeypatch.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{env}/absent.sqlite")
    elif case == "driver":
        monkeypatch.setenv("ANONRELEASE_SOURCE_URL", "mysql+mysqldb://alice:SECRET@db/salon")
    elif case == "key-file":
        monkeypatch.delenv("ANONRELEASE_HMAC_KEY")
        monkeypatch.setenv("ANONRELEASE_HMAC_KEY_FILE", str(env / "absent.key"))
    elif case == "timezone":
        text = (REPO / "data" / "config" / "release.yaml").read_text(encoding="utf-8")
        (env / "release.yaml").write_text(text.replace("Asia/Tokyo", "Asia/Tokio"))
        monkeypatch.setenv("ANONRELEASE_CONFIG", str(env / "release.yaml"))
    else:
        registry = yaml.safe_load((REPO / "data" / "partners.yaml").read_text(encoding="utf-8"))
        registry["recipients"][1]["id"] = "Sponsor AdNet"
        (env / "partners.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True))
        monkeypatch.setenv("ANONRELEASE_PARTNERS", str(env / "partners.yaml"))
    code, out = _invoke("run", "--date", "2026-11-24")
    assert code == 2, out
    line = _one_line(out)
    assert line.startswith("error: ") and re.search(reason, line), line
    assert MARKER not in out and "SECRET" not in out
    _nothing_written(env)


def test_a_foreign_error_prints_its_type_only_and_debug_shows_the_traceback(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.steps.extract as extract_step

    def broken(*args: object, **kwargs: object) -> object:
        raise UnicodeDecodeError("utf-8", MARKER.encode(), 0, 1, f"text '{MARKER}'")

    monkeypatch.setattr(extract_step, "extract_all", broken)
    code, out = _invoke("run", "--date", "2026-11-24")
    assert code == 1, out
    assert out.splitlines()[-1] == (
        "error: unexpected UnicodeDecodeError (run with --debug for details)"
    )
    assert "FAILED at extract" in out and MARKER not in out and "Traceback" not in out
    audit = (env / "warehouse" / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert MARKER not in audit

    code, out = _invoke("--debug", "run", "--date", "2026-11-24")
    assert code == 1
    assert "Traceback (most recent call last)" in out and MARKER in out
    assert out.splitlines()[-1].startswith("error: unexpected UnicodeDecodeError")
    assert MARKER not in (env / "warehouse" / "audit" / "audit.jsonl").read_text()


def test_a_data_failure_exits_1_after_the_summary(env: Path, monkeypatch) -> None:
    import pipeline.steps.extract as extract_step
    from pipeline.sources.extract import ExtractError

    def missing(*args: object, **kwargs: object) -> object:
        raise ExtractError("source table(s) missing: consents")

    monkeypatch.setattr(extract_step, "extract_all", missing)
    code, out = _invoke("run", "--date", "2026-11-24")
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == (
        "run 2026-11-24: FAILED at extract: source table(s) missing: consents (ExtractError)"
    )
    assert lines[-1] == "error: source table(s) missing: consents"


def test_summary_prints_reasons_literally(env: Path) -> None:
    """Before: ``[k=50, l=2]`` vanished from the blocked line (read as console markup)."""
    reports = env / "warehouse" / "2026-11-24" / "reports"
    reports.mkdir(parents=True)
    reason = "customers_microdata [k=50, l=2]: expect_table_to_be_k_anonymous: 12 of 274 rows"
    DecisionRecord(
        allowed={},
        blocked={"strict-partner": [reason]},
        profile_failures=["[bold]x[/bold]"],
        docs_index=None,
        checks=[],
        sha256={},
    ).write(reports)
    code, out = _invoke("summary", "--date", "2026-11-24")
    assert code == 0, out
    assert f"blocked strict-partner: {reason}" in out.splitlines()
    assert "profile failed: [bold]x[/bold]" in out.splitlines()


def test_verify_of_a_hostile_manifest_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Even a manifest signed by the pinned key is checked for what it names."""
    import hashlib

    from pipeline.release.publish import sign_manifest
    from pipeline.settings.signing_keys import load_signing_key, public_key_pem

    key = load_signing_key()
    pinned = tmp_path / "pinned.pem"
    pinned.write_bytes(public_key_pem(key))
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"h\n1\n")
    folder = tmp_path / "releases" / "p" / "r"
    folder.mkdir(parents=True)
    entry = {
        "name": "../../../outside.csv",
        "sha256": hashlib.sha256(outside.read_bytes()).hexdigest(),
        "bytes": 4,
        "rows": 1,
        "columns": ["h"],
    }
    manifest = {
        "format": "anonrelease-manifest/2",
        "recipient": "p",
        "run": "r",
        "code_version": "0",
        "privacy_profile": {},
        "datasets": {},
        "files": [entry],
    }

    def write(payload: bytes) -> None:
        (folder / "manifest.json").write_bytes(payload)
        (folder / "manifest.json.sig").write_bytes(sign_manifest(payload, key))

    write(json.dumps(manifest).encode())
    code, out = _invoke("verify", str(folder), "--public-key", str(pinned))
    assert code == 1
    assert _one_line(out).startswith(f"FAILED {folder}: manifest.json: files.0.name: ")
    write(b"{not json")
    code, out = _invoke("verify", str(folder), "--public-key", str(pinned))
    assert code == 1
    assert _one_line(out) == f"FAILED {folder}: manifest.json is not valid JSON (line 1, column 2)"


def test_validate_docs_with_a_relative_folder(tmp_path: Path, monkeypatch) -> None:
    """Before: a ValueError traceback from GX (it wanted an absolute folder)."""
    monkeypatch.chdir(tmp_path)
    Path("micro.csv").write_text("age;gender\n20-29;F\n20-29;F\n", encoding="utf-8")
    args = ["validate", "--suite", "released_microdata", "micro.csv", "--qi", "age", "--k", "2"]
    code, out = _invoke(*args, "--docs", "docs")
    assert code == 0, out
    assert (tmp_path / "docs" / "index.html").exists()


def test_no_command_prints_help_and_an_unknown_one_is_a_usage_error() -> None:
    code, out = _invoke("bogus")
    assert (
        code == 2 and _one_line(out) == "error: No such command 'bogus'. (see 'anonrelease --help')"
    )
    code, out = _invoke("run")
    assert code == 2 and "Missing option '--date'" in _one_line(out)


def test_the_installed_command_exits_2_with_one_line_on_stderr(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CLI), "run", "--date", "yesterday"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "--date" in _one_line(result.stderr)
