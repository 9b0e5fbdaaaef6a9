"""``anonrelease legal-disclosure``: the DAG's lawful disclosure from the command line.

request -> approve --approver NAME | reject -> disclose, with the DAG's validation, its
owner-only output and its audit events (pipeline/rights/disclosure_demands.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from pathlib import Path

import pytest
from raw_snapshots import two_customers
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.rights import legal_disclosure as ld
from pipeline.rights.disclosure_demands import REQUESTS
from pipeline.run.audit import read_events

KEY_HEX = "5a" * 32
REQUEST = [
    "legal-disclosure",
    "request",
    "--body",
    "court",
    "--legal-basis",
    "Code of Civil Procedure art. 223",
    "--reference",
    "R-2026-001",
    "--customer",
    "2",
    "--item",
    "profile",
    "--item",
    "consents",
]
ID = re.compile(r"ld-[0-9]{8}-[0-9a-f]{8}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A work folder with a raw snapshot (text, as extract writes it) of two customers."""
    wd = tmp_path / "warehouse"
    two_customers(wd)
    return wd


def _cli(workdir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        list(args),
        env={
            "COLUMNS": "200",
            "ANONRELEASE_HMAC_KEY": KEY_HEX,
            "ANONRELEASE_WORKDIR": str(workdir),
        },
    )
    return result.exit_code, result.stdout, result.stderr


def _request(workdir: Path) -> str:
    code, out, err = _cli(workdir, *REQUEST)
    assert code == 0, err
    found = ID.search(out)
    assert found, out
    return found.group(0)


def _events(workdir: Path) -> list[dict]:
    return [e for e in read_events(workdir) if e["event"].startswith("legal_disclosure")]


def test_request_approve_disclose_writes_the_items_owner_only_and_audits(workdir: Path) -> None:
    request_id = _request(workdir)
    assert not (workdir / ld.FOLDER).exists()  # a request reads and writes no customer data
    assert [e["event"] for e in _events(workdir)] == ["legal_disclosure.requested"]
    code, out, _ = _cli(workdir, "legal-disclosure", "status")
    assert code == 0 and request_id in out and "pending" in out and "R-2026-001" not in out
    code, _, err = _cli(
        workdir, "legal-disclosure", "approve", "--approver", "privacy-officer", request_id
    )
    assert code == 0, err
    code, out, err = _cli(workdir, "legal-disclosure", "disclose", request_id)
    assert code == 0, err
    files = list((workdir / ld.FOLDER).iterdir())
    assert files == [ld.output_path(workdir, request_id)]
    assert stat.S_IMODE((workdir / ld.FOLDER).stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    for stored in (workdir / REQUESTS).iterdir():
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    answer = json.loads(files[0].read_text(encoding="utf-8"))
    assert sorted(answer["items"]) == ["consents", "profile"]
    assert answer["items"]["profile"] == [
        {"customer_id": "2", "family_name": "佐藤", "phone": "090-0000-0002"}
    ]
    assert answer["approved_by"] == "privacy-officer"
    events = _events(workdir)
    assert [e["event"] for e in events] == [
        "legal_disclosure.requested",
        "legal_disclosure.approved",
        "legal_disclosure.written",
    ]
    assert {e["run"] for e in events} == {request_id}
    assert events[1]["approver"] == "privacy-officer"
    assert events[2]["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    audit_text = json.dumps(events, ensure_ascii=False)
    for value in ("佐藤", "090-0000-0002", "R-2026-001", "223"):
        assert value not in audit_text and value not in out
    code, out, _ = _cli(workdir, "legal-disclosure", "status", request_id)
    assert code == 0 and "disclosed" in out and "privacy-officer" in out
    # Once: a second disclosure and a second decision are refused.
    code, _, err = _cli(workdir, "legal-disclosure", "disclose", request_id)
    assert code == 1 and "already disclosed" in err
    code, _, err = _cli(workdir, "legal-disclosure", "reject", "--approver", "x", request_id)
    assert code == 1 and "already decided" in err


def test_disclose_without_a_recorded_approval_refuses_and_reads_nothing(workdir: Path) -> None:
    request_id = _request(workdir)
    code, _, err = _cli(workdir, "legal-disclosure", "disclose", request_id)
    assert code == 1
    assert err.strip() == "error: no recorded approval for this demand: nothing is disclosed"
    assert not (workdir / ld.FOLDER).exists()
    assert [e["event"] for e in _events(workdir)] == [
        "legal_disclosure.requested",
        "legal_disclosure.not_approved",
    ]
    # An approval needs a named person.
    code, _, err = _cli(workdir, "legal-disclosure", "approve", "--approver", " ", request_id)
    assert code == 1 and "approver: a named person is required" in err
    code, _, err = _cli(workdir, "legal-disclosure", "disclose", request_id)
    assert code == 1 and not (workdir / ld.FOLDER).exists()
    # An unknown or malformed id names the id, nothing else.
    code, _, err = _cli(workdir, "legal-disclosure", "disclose", "ld-20261201-00000000")
    assert code == 1 and "ld-20261201-00000000: no such lawful disclosure request" in err
    code, _, err = _cli(workdir, "legal-disclosure", "approve", "--approver", "a", "../x")
    assert code == 1 and "request id: not of the form" in err


def test_a_rejection_writes_nothing_and_is_audited_with_the_approver(workdir: Path) -> None:
    request_id = _request(workdir)
    code, out, err = _cli(
        workdir, "legal-disclosure", "reject", "--approver", "privacy-officer", request_id
    )
    assert code == 0, err
    assert "nothing disclosed" in out
    code, _, err = _cli(workdir, "legal-disclosure", "disclose", request_id)
    assert code == 1 and "no recorded approval" in err
    assert not (workdir / ld.FOLDER).exists()
    events = _events(workdir)
    assert [e["event"] for e in events] == [
        "legal_disclosure.requested",
        "legal_disclosure.rejected",
    ]
    assert events[1]["approver"] == "privacy-officer"
    code, out, _ = _cli(workdir, "legal-disclosure", "status")
    assert "rejected" in out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--body", "journalist", "--body"),
        ("--item", "passwords", "--item"),
        ("--customer", "0", "--customer"),
        ("--reference", " ", "--reference"),
    ],
)
def test_a_demand_outside_the_rules_is_one_line_naming_the_option(
    workdir: Path, option: str, value: str, message: str
) -> None:
    args = list(REQUEST)
    args[args.index(option) + 1] = value
    code, _, err = _cli(workdir, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    if option in ("--body", "--item"):
        assert value not in lines[0]  # the rule and the valid words, never what was given
    assert not (workdir / REQUESTS).exists() and _events(workdir) == []
