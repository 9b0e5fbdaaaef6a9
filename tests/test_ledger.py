"""The provision ledger: append-only, hash-chained; an edited or deleted entry is detected and
named; listing filters by recipient and date; the publish step records refusals."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.release.ledger import (
    GENESIS,
    LedgerBroken,
    append,
    entries,
    entry_sha256,
    ledger_url,
    open_ledger,
    verify_ledger,
)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


def _filled(tmp_path: Path) -> sa.Engine:
    engine = open_ledger(_url(tmp_path))
    days = [datetime(2026, 11, d, 3, 0, tzinfo=UTC) for d in (22, 23, 24, 25)]
    append(
        engine,
        run="2026-11-22",
        recipient="a",
        outcome="provided",
        datasets=["t"],
        files={"t.csv": "ab" * 32},
        parameters={"t": {"min_cell_count": 10}},
        now=days[0],
    )
    append(
        engine,
        run="2026-11-23",
        recipient="b",
        outcome="blocked",
        reason="k=3 below the recipient's minimum 5",
        now=days[1],
    )
    append(
        engine,
        run="2026-11-24",
        recipient="a",
        outcome="held",
        datasets=["m"],
        reason="m: differencing would single out 1 person",
        now=days[2],
    )
    append(
        engine,
        run="2026-11-25",
        recipient="a",
        outcome="not_due",
        datasets=["t"],
        reason="t: next period 2026-12",
        now=days[3],
    )
    return engine


def _raw(engine: sa.Engine, *statements: str) -> None:
    """What someone with write access to the database file could do, triggers dropped."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER provisions_no_update"))
        conn.execute(sa.text("DROP TRIGGER provisions_no_delete"))
        for statement in statements:
            conn.execute(sa.text(statement))


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ledger", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_entries_chain_and_verify(tmp_path: Path) -> None:
    engine = _filled(tmp_path)
    found = entries(engine)
    assert [e.id for e in found] == [1, 2, 3, 4]
    assert found[0].prev_sha256 == GENESIS
    assert all(b.prev_sha256 == a.sha256 for a, b in itertools.pairwise(found))
    first = found[0]
    assert first.files == {"t.csv": "ab" * 32} and first.parameters == {"t": {"min_cell_count": 10}}
    fields = {k: v for k, v in first.__dict__.items()}
    fields["datasets"] = list(fields["datasets"])
    assert entry_sha256(fields) == first.sha256
    state = verify_ledger(engine)
    assert (state.entries, state.head_id, state.head_sha256) == (4, 4, found[-1].sha256)
    # --workdir: the signed head of this ledger only (not the checkout's demo warehouse)
    code, out = _cli("verify", "--url", _url(tmp_path), "--workdir", str(tmp_path))
    assert code == 0 and f"4 entries chained; head entry 4 sha256 {found[-1].sha256}" in out


def test_the_database_itself_refuses_updates_and_deletes(tmp_path: Path) -> None:
    engine = _filled(tmp_path)
    for statement in ("UPDATE provisions SET reason = 'x'", "DELETE FROM provisions"):
        with pytest.raises(sa.exc.IntegrityError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert verify_ledger(engine).entries == 4


def test_an_edited_entry_is_detected_and_named(tmp_path: Path) -> None:
    engine = _filled(tmp_path)
    _raw(engine, "UPDATE provisions SET reason = 'fine' WHERE id = 2")
    with pytest.raises(LedgerBroken) as err:
        verify_ledger(engine)
    assert err.value.entry_id == 2 and "edited" in str(err.value)
    code, out = _cli("verify", "--url", _url(tmp_path))
    assert code == 1 and "ledger entry 2: edited" in out


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(tmp_path: Path) -> None:
    engine = _filled(tmp_path)
    (second,) = [e for e in entries(engine) if e.id == 2]
    fields = {**second.__dict__, "datasets": [], "outcome": "provided", "reason": ""}
    forged = entry_sha256(fields)
    _raw(
        engine,
        f"UPDATE provisions SET outcome = 'provided', reason = '', sha256 = '{forged}' "
        "WHERE id = 2",
    )
    with pytest.raises(LedgerBroken, match="ledger entry 3: does not follow entry 2"):
        verify_ledger(engine)


@pytest.mark.parametrize(("deleted", "named"), [(2, 3), (1, 2)])
def test_a_deleted_entry_is_detected(tmp_path: Path, deleted: int, named: int) -> None:
    engine = _filled(tmp_path)
    _raw(engine, f"DELETE FROM provisions WHERE id = {deleted}")
    with pytest.raises(LedgerBroken) as err:
        verify_ledger(engine)
    assert err.value.entry_id == named and f"entry {deleted} before it is missing" in str(err.value)
    code, out = _cli("verify", "--url", _url(tmp_path))
    assert code == 1 and f"ledger entry {named}:" in out


def test_a_deleted_and_renumbered_chain_is_still_detected(tmp_path: Path) -> None:
    engine = _filled(tmp_path)
    _raw(
        engine,
        "DELETE FROM provisions WHERE id = 2",
        "UPDATE provisions SET id = id - 1 WHERE id > 2",
    )
    with pytest.raises(LedgerBroken, match="ledger entry 2: does not follow entry 1"):
        verify_ledger(engine)


def test_listing_filters_by_recipient_and_date(tmp_path: Path) -> None:
    engine = _filled(tmp_path)
    assert [e.id for e in entries(engine, recipient="a")] == [1, 3, 4]
    assert [e.id for e in entries(engine, since=date(2026, 11, 24))] == [3, 4]
    assert [e.id for e in entries(engine, recipient="b", since=date(2026, 11, 24))] == []
    code, out = _cli("--url", _url(tmp_path), "--recipient", "a", "--since", "2026-11-23")
    lines = out.splitlines()
    assert code == 0 and lines[-1] == "2 entries", out
    assert "2026-11-24  a  held  m  m: differencing would single out 1 person" in lines[0]
    assert "2026-11-25  a  not_due  t" in lines[1]
    code, out = _cli("--url", _url(tmp_path), "--since", "yesterday")
    assert code == 2 and "--since" in out


def test_the_default_ledger_lives_in_the_workdir_and_the_env_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ledger_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/ledger.sqlite"
    assert ledger_url("sqlite:///elsewhere.sqlite", tmp_path) == "sqlite:///elsewhere.sqlite"
    monkeypatch.setenv("ANONRELEASE_LEDGER_URL", "sqlite:///env.sqlite")
    assert ledger_url("sqlite:///elsewhere.sqlite", tmp_path) == "sqlite:///env.sqlite"
    monkeypatch.delenv("ANONRELEASE_LEDGER_URL")
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "wk"))
    code, out = _cli("verify")
    assert code == 1 and "no ledger at" in out
    code, out = _cli()
    assert code == 0 and "nothing recorded yet" in out


def test_publish_records_every_refusal_and_fails_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.release.decision_record import DecisionRecord
    from pipeline.release.errors import RecipientsBlocked, ReleaseBlocked
    from pipeline.run.context import RunContext
    from pipeline.settings.release_config import load_config
    from pipeline.steps.publish import publish

    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "wk"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    ctx = RunContext(run_date=date(2026, 11, 24), config=load_config())
    (ctx.run_dir / "reports").mkdir(parents=True)
    base = {"docs_index": None, "checks": [], "sha256": {}}
    DecisionRecord(allowed={}, blocked={}, profile_failures=["k=2 below 5"], **base).write(
        ctx.run_dir / "reports"
    )
    with pytest.raises(ReleaseBlocked):
        publish(ctx)
    DecisionRecord(
        allowed={},
        blocked={"sponsor-adnet": ["min_k 50 not met"]},
        profile_failures=[],
        held={"partner-cosmetics": {"customers_microdata_monthly": "would single out"}},
        not_due={"contractor-analytics": {"count_table": "next on 2026-12-01"}},
        **base,
    ).write(ctx.run_dir / "reports")
    with pytest.raises(RecipientsBlocked):
        publish(ctx)
    engine = open_ledger(ledger_url(None, ctx.config.workdir))
    found = entries(engine)
    profile_blocked = [e for e in found if e.reason == "k=2 below 5"]
    assert profile_blocked and all(e.outcome == "blocked" for e in profile_blocked)
    later = [(e.recipient, e.outcome, e.reason) for e in found[len(profile_blocked) :]]
    assert later == [
        ("sponsor-adnet", "blocked", "min_k 50 not met"),
        ("partner-cosmetics", "held", "customers_microdata_monthly: would single out"),
        ("contractor-analytics", "not_due", "count_table: next on 2026-12-01"),
    ]
    assert verify_ledger(engine).entries == len(found)


def test_preflight_checks_the_ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.release.ledger import LedgerUnusable
    from pipeline.run.preflight import check_ledger
    from pipeline.settings.release_config import load_config

    config = load_config().model_copy(update={"workdir": tmp_path})
    assert check_ledger(config).startswith(f"sqlite:///{tmp_path.resolve()}/ledger.sqlite")
    for url in ("not a url", "nosuchdialect://host/db"):
        with pytest.raises(LedgerUnusable):
            check_ledger(config.model_copy(update={"ledger_url": url}))
    monkeypatch.setenv("ANONRELEASE_LEDGER_URL", "postgresql+psycopg://u:SECRET@h/ledger")
    assert "SECRET" not in check_ledger(config)


def test_an_unwritable_destination_fails_that_recipient_keeps_its_release_and_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import os

    from pipeline.release.decision_record import DecisionRecord
    from pipeline.release.errors import DestinationUnwritable
    from pipeline.release.publish import publish_release, verify_release
    from pipeline.run.context import RunContext
    from pipeline.settings.release_config import load_config
    from pipeline.settings.signing_keys import load_signing_key
    from pipeline.steps.publish import publish

    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "wk"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    ctx = RunContext(run_date=date(2026, 11, 24), config=load_config())
    (ctx.run_dir / "reports").mkdir(parents=True)
    table = "customers_by_region_age_gender"  # a catalogue table partner-cosmetics may receive
    candidate = ctx.zone("candidates") / f"{table}.csv"
    header = b"region,age_group,gender,value,flag\n"
    candidate.write_bytes(header + b"Kanto,30-39,F,12,\n")
    earlier = tmp_path / "earlier.csv"
    earlier.write_bytes(header + b"Kanto,30-39,F,11,\n")
    previous = publish_release(
        release_root=str(tmp_path / "releases"),
        recipient="partner-cosmetics",
        run_id=ctx.run_id,
        files={f"{table}.csv": earlier},
        profile={},
        signing_key=load_signing_key(),
    )
    # A file where the staging folder must go: the destination cannot be written.
    blocker = tmp_path / "releases" / "partner-cosmetics" / f".staging-{ctx.run_id}-{os.getpid()}"
    blocker.write_bytes(b"")
    DecisionRecord(
        allowed={"partner-cosmetics": [table]},
        blocked={},
        profile_failures=[],
        docs_index=None,
        checks=[],
        sha256={table: hashlib.sha256(candidate.read_bytes()).hexdigest()},
        # what build_tables records for a cell key table (its dictionary states them)
        parameters={table: {"method": "cellkey", "ptable": "counts_D3_V2_js2.csv", "D": 3}},
    ).write(ctx.run_dir / "reports")
    with pytest.raises(DestinationUnwritable, match="partner-cosmetics: destination not writable"):
        publish(ctx)
    assert verify_release(previous.folder)["files"][0]["sha256"] == previous.sha256[f"{table}.csv"]
    (entry,) = entries(open_ledger(ledger_url(None, ctx.config.workdir)))
    assert (entry.recipient, entry.outcome, entry.datasets) == (
        "partner-cosmetics",
        "failed",
        (table,),
    )
    assert "FileExistsError" in entry.reason


def test_deleting_the_newest_entries_is_caught_by_the_signed_head(tmp_path: Path) -> None:
    """The chain alone cannot see the newest entry removed; the signed checkpoint can."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pipeline.release.ledger_checkpoint import Checkpoint, checkpoint_problem, write_checkpoint
    from pipeline.settings.signing_keys import public_key_pem

    engine = _filled(tmp_path)
    key = Ed25519PrivateKey.generate()
    head = verify_ledger(engine)
    write_checkpoint(
        tmp_path, Checkpoint(head.entries, int(head.head_id or 0), head.head_sha256), key
    )
    assert checkpoint_problem(tmp_path, head, key.public_key()) is None
    pem = tmp_path / "public_key.pem"
    pem.write_bytes(public_key_pem(key))
    code, out = _cli(
        "verify", "--url", _url(tmp_path), "--workdir", str(tmp_path), "--public-key", str(pem)
    )
    assert code == 0, out

    _raw(engine, "DELETE FROM provisions WHERE id = 4")
    shorter = verify_ledger(engine)  # still a valid chain of 3
    assert shorter.entries == 3
    problem = checkpoint_problem(tmp_path, shorter, key.public_key())
    assert problem is not None and "newest entries were deleted" in problem
    code, out = _cli(
        "verify", "--url", _url(tmp_path), "--workdir", str(tmp_path), "--public-key", str(pem)
    )
    assert code == 1 and "newest entries were deleted" in out
    other = Ed25519PrivateKey.generate().public_key()
    assert "does not verify" in str(checkpoint_problem(tmp_path, shorter, other))
