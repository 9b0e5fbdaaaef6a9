"""No value of the source ever reaches a message or the audit trail (issue 9, finding 1).

Every column of a small source gets a marker value (``MARKER-<table>-<column>-42``), plain in
one row and with bytes that are not UTF-8 in another. ``anonrelease run`` is then driven down
every road: a night that quarantines the bad rows and publishes, too many rows quarantined,
an unreadable request, a missing table, a truncated, foreign or damaged database file, a
wrong config (with markers in it), a failed privacy check, a password in the source URL, an
unknown driver. No marker may appear in the console output or a traceback, the audit trail,
the reports, the pinned config, the Data Docs, the quarantine reasons or the releases.
"""

from __future__ import annotations

import shutil
import sqlite3
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hostile_sources import clean_tables, set_value, write_untyped
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.sources.schema import SOURCE_TABLES

RUN_DATE = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[1]
MARKER = "MARKER-"
PASSWORD = "MARKER-password-42"
# A marker in these columns makes the request unreadable: a road of its own (fail closed).
EXCLUDING_IDS = {("customer_requests", "customer_id"), ("consents", "customer_id")}


def _marker(table: str, column: str) -> str:
    return f"{MARKER}{table}-{column}-42"


def _plant(path: Path, *, excluding_ids: bool = False) -> None:
    conn = sqlite3.connect(path)
    for table, columns in SOURCE_TABLES.items():
        for j, (column, kind) in enumerate(columns.items()):
            if (table, column) in EXCLUDING_IDS and not excluding_ids:
                continue
            set_value(conn, table, column, 2 * j + 1, _marker(table, column))
            if kind == "str":
                bad = _marker(table, column).encode() + " 佐藤".encode("shift_jis")
                set_value(conn, table, column, 2 * j + 2, bad)
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A source with a marker in every column (but the two that exclude a customer)."""
    path = tmp_path_factory.mktemp("marked") / "source.sqlite"
    write_untyped(path, clean_tables(customers=300, seed=21, as_of=RUN_DATE))
    _plant(path)
    return path


def _config(root: Path, name: str = "release.yaml", **changes: object) -> Path:
    config = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    # a small population cannot keep the region within the shipped bound; leaks are the point
    config["profile"].pop("max_levels", None)
    for key, value in changes.items():
        if key == "k":
            config["profile"]["k"] = value
        else:
            config[key] = value
    path = root / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _written_texts(root: Path) -> list[str]:
    """Everything a run writes that a person may read: not the raw, clean or quarantined
    data itself (internal zones that hold the values by design), but its reasons."""
    texts = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        parts = set(path.relative_to(root).parts)
        if path.suffix == ".parquet":
            if "quarantine" in parts:
                frame = pd.read_parquet(path)
                if "_reason" in frame.columns:
                    texts.append("\n".join(frame["_reason"].astype(str)))
            elif "releases" in parts:
                texts.append(pd.read_parquet(path).to_csv())
            continue
        texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return texts


def _run(root: Path, env: dict[str, str]) -> tuple[int, str]:
    """``anonrelease run`` in process; its exit code and everything a user sees."""
    base = {
        "ANONRELEASE_SOURCE_URL": f"sqlite:///{root / 'source.sqlite'}",
        "ANONRELEASE_WORKDIR": str(root / "warehouse"),
        "ANONRELEASE_RELEASE_ROOT": str(root / "releases"),
        "ANONRELEASE_HMAC_KEY": "5a" * 32,
        "ANONRELEASE_CONFIG": str(_config(root, quarantine_threshold=1.0)),
    }
    result = CliRunner().invoke(app, ["run", "--date", RUN_DATE.isoformat()], env=base | env)
    seen = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        seen += "".join(traceback.format_exception(result.exception))  # as a traceback shows
    return result.exit_code, seen


def _copy(marked: Path) -> Callable[[Path], None]:
    return lambda root: shutil.copy(marked, root / "source.sqlite")


def _drop_table(marked: Path) -> Callable[[Path], None]:
    def prepare(root: Path) -> None:
        shutil.copy(marked, root / "source.sqlite")
        conn = sqlite3.connect(root / "source.sqlite")
        conn.execute("DROP TABLE consents")
        conn.commit()
        conn.close()

    return prepare


def _truncated(marked: Path) -> Callable[[Path], None]:
    data = marked.read_bytes()
    return lambda root: (root / "source.sqlite").write_bytes(data[: len(data) // 3])


def _damaged(marked: Path) -> Callable[[Path], None]:
    """The header intact, pages in the middle overwritten (the file's own marker bytes)."""
    data = bytearray(marked.read_bytes())
    middle = len(data) // 2
    data[4096:middle] = (MARKER.encode() * (middle // len(MARKER)))[: middle - 4096]
    return lambda root: (root / "source.sqlite").write_bytes(bytes(data))


def _foreign(root: Path) -> None:
    (root / "source.sqlite").write_text(f"{MARKER}file-42, a spreadsheet export\n" * 500)


def _unreadable_request(root: Path) -> None:
    path = root / "source.sqlite"
    write_untyped(path, clean_tables(customers=300, seed=21, as_of=RUN_DATE))
    _plant(path, excluding_ids=True)


ROADS = {
    # name: (prepare the source, extra environment, exit code, failed step, error)
    "quarantined, published": (_copy, {}, 0, None, None),
    "too many quarantined": (
        _copy,
        {"threshold": "0.05"},
        1,
        "validate_raw",
        "QuarantineThresholdExceeded",
    ),
    "unreadable request": (
        lambda m: _unreadable_request,
        {},
        1,
        "validate_raw",
        "UnreadableRequestError",
    ),
    "missing table": (_drop_table, {}, 1, "extract", "ExtractError"),
    # The preflight refuses these before extract touches anything (exit 2, nothing audited).
    "truncated file": (_truncated, {}, 2, "preflight", None),
    "damaged file": (_damaged, {}, 1, "extract", "ExtractError"),
    "foreign file": (lambda m: _foreign, {}, 2, "preflight", None),
    "privacy check failed": (_copy, {"k": "100000"}, 1, "anonymize", "ReleaseBlocked"),
    "password in the URL": (
        _copy,
        {"ANONRELEASE_SOURCE_URL": f"postgresql+psycopg://alice:{PASSWORD}@127.0.0.1:1/salon"},
        None,
        "extract",
        "SourceUnavailable",
    ),
    "unknown driver": (
        _copy,
        {"ANONRELEASE_SOURCE_URL": f"nosuchdb+nodriver://alice:{PASSWORD}@host/salon"},
        2,
        "preflight",
        None,
    ),
    "wrong config": (_copy, {"config": "marked"}, None, None, None),
    "config not YAML": (_copy, {"config": "not yaml"}, None, None, None),
}


@pytest.mark.parametrize("road", list(ROADS))
def test_no_marker_reaches_the_console_audit_reports_docs_or_reasons(
    marked: Path, tmp_path: Path, road: str
) -> None:
    from pipeline.run.audit import read_events

    prepare, env, exit_code, stops_at, error = ROADS[road]
    prepare(marked)(tmp_path)
    env = dict(env)
    if "threshold" in env:
        env["ANONRELEASE_CONFIG"] = str(_config(tmp_path, "strict.yaml", quarantine_threshold=0.05))
    if "k" in env:
        env["ANONRELEASE_CONFIG"] = str(
            _config(tmp_path, "k.yaml", quarantine_threshold=1.0, k=100_000)
        )
    if env.get("config") == "marked":
        env["ANONRELEASE_CONFIG"] = str(
            _config(
                tmp_path, "marked.yaml", quarantine_threshold=f"{MARKER}q-42", k=f"{MARKER}k-42"
            )
        )
    if env.get("config") == "not yaml":
        path = tmp_path / "broken.yaml"
        path.write_text(f"source_url: sqlite:///x?password={PASSWORD}\nprofile: {{k: [{MARKER}")
        env["ANONRELEASE_CONFIG"] = str(path)
    env = {k: v for k, v in env.items() if k.startswith("ANONRELEASE_")}

    code, seen = _run(tmp_path, env)

    if exit_code is not None:
        assert code == exit_code, seen
    events = read_events(tmp_path / "warehouse", run_id=RUN_DATE.isoformat())
    failed = [e for e in events if e["event"].endswith(".failed")]
    if stops_at == "preflight":
        assert "preflight failed: source" in seen and events == [], seen
        stops_at = None
    assert [e["event"] for e in failed] == ([f"{stops_at}.failed"] if stops_at else []), seen
    if error is not None:  # one of the project's own errors, by name
        assert failed[0]["error"] == error, failed[0]
        if "file" in road:
            assert str(tmp_path / "source.sqlite") in failed[0]["message"]
    texts = [seen, *_written_texts(tmp_path / "warehouse"), *_written_texts(tmp_path / "releases")]
    leaks = [t for t in texts if MARKER in t]
    assert leaks == [], leaks[0][:2000] if leaks else None
    if road == "quarantined, published":
        reasons = "\n".join(_written_texts(tmp_path / "warehouse"))
        assert "comment: not valid UTF-8 text" in reasons
        assert list((tmp_path / "releases").glob("*/2026-11-24/manifest.json"))


@pytest.mark.slow
def test_no_marker_reaches_the_airflow_task_logs(marked: Path, tmp_path: Path) -> None:
    """The real DAG under Airflow (``anonrelease dag-test`` in its own process, with its own
    Airflow home): nothing it logs, to the console or to task log files, holds a marker."""
    import os
    import subprocess
    import sys

    _copy(marked)(tmp_path)
    home = tmp_path / "airflow"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "ANONRELEASE_SOURCE_URL": f"sqlite:///{tmp_path / 'source.sqlite'}",
        "ANONRELEASE_WORKDIR": str(tmp_path / "warehouse"),
        "ANONRELEASE_RELEASE_ROOT": str(tmp_path / "releases"),
        "ANONRELEASE_HMAC_KEY": "5a" * 32,
        "ANONRELEASE_CONFIG": str(_config(tmp_path, quarantine_threshold=1.0)),
    }
    home.mkdir()
    migrate = [str(bin_dir / "airflow"), "db", "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=300)
    command = [str(bin_dir / "anonrelease"), "dag-test", "--date", RUN_DATE.isoformat()]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    logged = done.stdout + done.stderr
    assert "DAG run 2026-11-24" in logged, logged[-2000:]
    files = [p.read_text(errors="replace") for p in home.rglob("*.log") if p.is_file()]
    leaks = [t for t in [logged, *files] if MARKER in t]
    assert leaks == [], leaks[0][:2000] if leaks else None
