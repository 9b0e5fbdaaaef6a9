"""Customers' rights: deletions outlive restored backups; own-data exports (issue #12)."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from published_notices import publish_notices
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.demo import DEMO_DATE
from pipeline.demo.generator import generate_demo_database
from pipeline.rights.tombstones import (
    TombstoneKeyMismatch,
    TombstoneStoreUnreadable,
    customer_pseudonym,
    read_tombstones,
    record_tombstones,
    tombstones_path,
)
from pipeline.run.audit import read_events

RUN = DEMO_DATE.isoformat()
KEY_HEX = "5a" * 32
KEY = bytes.fromhex(KEY_HEX)


def _environment(mp: pytest.MonkeyPatch, source: str, workdir: Path, releases: Path) -> None:
    mp.setenv("ANONRELEASE_SOURCE_URL", source)
    mp.setenv("ANONRELEASE_WORKDIR", str(workdir))
    mp.setenv("ANONRELEASE_RELEASE_ROOT", str(releases))
    mp.setenv("ANONRELEASE_HMAC_KEY", KEY_HEX)


def _run(source: str, workdir: Path, releases: Path) -> None:
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.settings.release_config import load_config

    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, source, workdir, releases)
        publish_notices(workdir)
        run_all(RunContext(run_date=DEMO_DATE, config=load_config()))


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, list(args), env={"COLUMNS": "200", "ANONRELEASE_HMAC_KEY": KEY_HEX}
    )
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A generated source and one run over it: (source file, work folder)."""
    root = tmp_path_factory.mktemp("rights")
    source = root / "source.sqlite"
    generate_demo_database(
        f"sqlite:///{source}", customers=1200, seed=11, as_of=DEMO_DATE, dirty_rate=0.002
    )
    _run(f"sqlite:///{source}", root / "warehouse", root / "releases")
    yield source, root / "warehouse"


def _deidentified(workdir: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(workdir / RUN / "deidentified" / f"{table}.parquet")


def _two_included_customers(source: Path, workdir: Path) -> list[int]:
    """Two customers without requests who are in every de-identified table of the run."""
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.connect() as conn:
        ids = conn.execute(
            sa.text(
                "SELECT DISTINCT u.customer_id FROM service_usage u "
                "JOIN questionnaire_responses q ON q.customer_id = u.customer_id "
                "WHERE u.customer_id NOT IN (SELECT customer_id FROM customer_requests "
                "WHERE customer_id IS NOT NULL) ORDER BY u.customer_id"
            )
        ).scalars()
        candidates = [int(i) for i in ids]
    engine.dispose()
    tables = [set(_deidentified(workdir, t)["pseudonym"]) for t in ("customers", "usage")]
    tables.append(set(_deidentified(workdir, "questionnaires")["pseudonym"]))
    chosen = [c for c in candidates if all(customer_pseudonym(c, key=KEY) in t for t in tables)]
    assert len(chosen) >= 2
    return chosen[:2]


def _holders(root: Path, pseudonyms: set[str]) -> list[str]:
    """Files under ``root`` that hold any of ``pseudonyms`` (Parquet read by value)."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name == tombstones_path(root).name:
            continue
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            hit = any(df[c].astype("string").isin(pseudonyms).any() for c in df.columns)
        else:
            data = path.read_bytes()
            hit = any(p.encode() in data for p in pseudonyms)
        if hit:
            found.append(str(path.relative_to(root)))
    return found


def _contribution(workdir: Path, pseudonym: str) -> dict[str, int]:
    return {
        t: int((_deidentified(workdir, t)["pseudonym"] == pseudonym).sum())
        for t in ("customers", "usage", "questionnaires")
    }


def _rows(workdir: Path) -> dict[str, int]:
    report = json.loads((workdir / RUN / "reports" / "deidentify.json").read_text())
    return report["rows"]


def test_a_deletion_outlives_a_restored_backup(baseline, tmp_path: Path) -> None:
    base_source, base_workdir = baseline
    source = tmp_path / "source.sqlite"
    shutil.copy(base_source, source)
    url = f"sqlite:///{source}"
    a, b = _two_included_customers(source, base_workdir)
    pa, pb = customer_pseudonym(a, key=KEY), customer_pseudonym(b, key=KEY)
    gone = {
        t: _contribution(base_workdir, pa)[t] + _contribution(base_workdir, pb)[t]
        for t in ("customers", "usage", "questionnaires")
    }
    assert gone["customers"] == 2 and gone["usage"] > 0 and gone["questionnaires"] > 0
    expected = {t: n - gone[t] for t, n in _rows(base_workdir).items()}

    # A asks through the source's request table; B through the contact center's command.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customer_requests VALUES "
                "((SELECT MAX(request_id) + 1 FROM customer_requests), :id, 'deletion', "
                "'2026-11-20', NULL, NULL, 'pending')"
            ),
            {"id": a},
        )
    workdir, releases = tmp_path / "warehouse", tmp_path / "releases"
    code, _ = _cli("request", "delete", str(b), "--workdir", str(workdir))
    assert code == 0

    _run(url, workdir, releases)
    stones = read_tombstones(workdir, key=KEY)  # every deletion request leaves one
    assert {pa, pb} <= stones
    assert _holders(workdir, {pa, pb}) == []
    assert _holders(releases, {pa, pb}) == []
    assert _rows(workdir) == expected
    report = json.loads((workdir / RUN / "reports" / "apply_customer_requests.json").read_text())
    assert report["customers_excluded"]["tombstoned"] == 1  # B; A by its request
    assert report["tombstones"] == {"recorded": len(stones) - 1, "total": len(stones)}

    # A backup from before the request is restored: A's request is gone, their rows are back.
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM customer_requests WHERE customer_id = :id"), {"id": a})
    engine.dispose()
    _run(url, workdir, releases)
    assert _holders(workdir, {pa, pb}) == []
    assert _holders(releases, {pa, pb}) == []
    assert _rows(workdir) == expected
    report = json.loads((workdir / RUN / "reports" / "apply_customer_requests.json").read_text())
    assert report["customers_excluded"]["tombstoned"] == 2
    assert report["tombstoned"]["customers"] == 2
    assert report["tombstoned"]["service_usage"] == gone["usage"]
    assert report["tombstoned"]["questionnaire_responses"] == gone["questionnaires"]
    assert report["tombstones"] == {"recorded": 0, "total": len(stones)}
    # The store names pseudonyms only, and is owner-only.
    text = tombstones_path(workdir).read_text()
    assert f'"{a}"' not in text and f": {a}," not in text
    assert stat.S_IMODE(tombstones_path(workdir).stat().st_mode) == 0o600


def test_request_delete_says_which_past_releases_included_the_customer(baseline) -> None:
    source, workdir = baseline
    _, b = _two_included_customers(source, workdir)
    code, out = _cli("request", "delete", str(b), "--workdir", str(workdir))
    assert code == 0, out
    assert "cannot be recalled" in out
    prefix = customer_pseudonym(b, key=KEY)[:8]
    event = [e for e in read_events(workdir, run_id="requests") if e["event"] == "request.delete"][
        -1
    ]
    assert event["customer"] == prefix
    assert event["runs_counted"] == [RUN]
    assert event["microdata_releases"] >= 1 and event["microdata_runs"] == [RUN]
    assert set(event) == {  # the customer appears as the prefix of the pseudonym only
        "at",
        "run",
        "event",
        "customer",
        "new_tombstone",
        "microdata_releases",
        "microdata_runs",
        "microdata_recipients",
        "runs_counted",
    }
    stones = read_tombstones(workdir, key=KEY)
    assert customer_pseudonym(b, key=KEY) in stones
    code, out = _cli("request", "delete", str(b), "--workdir", str(workdir))
    assert code == 0 and "already recorded" in out
    assert read_tombstones(workdir, key=KEY) == stones


def test_tombstones_of_another_key_stop_the_run(tmp_path: Path) -> None:
    record_tombstones(tmp_path, ["ab" * 32], key=KEY, origin="test", run_id=RUN)
    with pytest.raises(TombstoneKeyMismatch):
        read_tombstones(tmp_path, key=b"\x01" * 32)


def test_an_unreadable_tombstone_store_fails_closed(tmp_path: Path) -> None:
    record_tombstones(tmp_path, ["ab" * 32], key=KEY, origin="test", run_id=RUN)
    with tombstones_path(tmp_path).open("a") as f:
        f.write("{not json\n")
    with pytest.raises(TombstoneStoreUnreadable, match="line 2"):
        read_tombstones(tmp_path, key=KEY)


def _source_rows(source: Path, customer_id: int) -> dict[str, int]:
    from pipeline.rights.export import CUSTOMER_TABLES

    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.connect() as conn:
        counts = {
            t: int(
                conn.execute(
                    sa.text(f"SELECT COUNT(*) FROM {t} WHERE customer_id = :id"),
                    {"id": customer_id},
                ).scalar_one()
            )
            for t in CUSTOMER_TABLES
        }
        comment = conn.execute(
            sa.text(
                "SELECT comment FROM questionnaire_responses WHERE customer_id = :id "
                "AND comment IS NOT NULL LIMIT 1"
            ),
            {"id": customer_id},
        ).scalar_one_or_none()
    engine.dispose()
    return {**counts, "_comment": comment}


def test_an_own_data_export_holds_every_record_of_the_customer_and_nobody_elses(
    baseline, tmp_path: Path
) -> None:
    source, workdir = baseline
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.connect() as conn:
        customer = int(
            conn.execute(
                sa.text(
                    "SELECT q.customer_id FROM questionnaire_responses q "
                    "JOIN consents c ON c.customer_id = q.customer_id "
                    "JOIN service_usage u ON u.customer_id = q.customer_id "
                    "WHERE q.comment IS NOT NULL ORDER BY q.customer_id LIMIT 1"
                )
            ).scalar_one()
        )
    engine.dispose()
    expected = _source_rows(source, customer)
    comment = expected.pop("_comment")
    out = tmp_path / "export" / "customer.json"
    code, printed = _cli(
        "request", "export", str(customer), "--out", str(out), "--workdir", str(workdir)
    )
    assert code == 0, printed
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    assert comment in text  # Japanese as written, not \\u escapes
    body = json.loads(text)
    assert body["customer_id"] == customer and body["snapshot"] == RUN
    assert {t: len(rows) for t, rows in body["records"].items()} == expected
    assert expected["customers"] == 1 and expected["service_usage"] > 0
    ids = {row["customer_id"] for rows in body["records"].values() for row in rows}
    assert ids == {str(customer)}
    event = [e for e in read_events(workdir, run_id="requests") if e["event"] == "request.export"][
        -1
    ]
    assert event["customer"] == customer_pseudonym(customer, key=KEY)[:8]
    assert event["records"] == expected
    assert set(event) == {"at", "run", "event", "customer", "snapshot", "records", "sha256"}


def test_an_export_for_an_unknown_customer_says_so_exits_1_and_is_audited(
    baseline, tmp_path: Path
) -> None:
    _, workdir = baseline
    out = tmp_path / "nobody.json"
    code, printed = _cli(
        "request", "export", "987654321", "--out", str(out), "--workdir", str(workdir)
    )
    assert code == 1
    assert "no customer with that id" in printed
    assert "987654321" not in printed
    assert not out.exists()
    events = [e["event"] for e in read_events(workdir, run_id="requests")]
    assert "request.export.unknown" in events
