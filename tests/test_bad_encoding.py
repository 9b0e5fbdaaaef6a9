"""Text that is not UTF-8 at the source is quarantined per row, never quoted, and the night
goes on (issue 9, finding 1)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.demo.generator import generate_demo_database
from pipeline.run.audit import read_events
from pipeline.run.context import RunContext
from pipeline.run.runner import run_all
from pipeline.run.step_reports import PublishReport, ValidateRawReport
from pipeline.settings.release_config import load_config

RUN_DATE = date(2026, 11, 24)
SJIS = "佐藤 sjis.leak@example.com 090-1111-3333".encode("shift_jis")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunContext:
    path = tmp_path / "source.sqlite"
    generate_demo_database(f"sqlite:///{path}", customers=300, seed=5, as_of=RUN_DATE, dirty_rate=0)
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE questionnaire_responses SET comment = CAST(? AS TEXT) "
        "WHERE response_id = (SELECT MIN(response_id) FROM questionnaire_responses)",
        (SJIS,),
    )
    conn.execute(
        "UPDATE customers SET email = CAST(? AS TEXT), family_name = CAST(? AS TEXT) "
        "WHERE customer_id = 7",
        (b"stray\xff@example.com", b"\x82\xa0"),
    )
    conn.commit()
    conn.close()
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    return RunContext(run_date=RUN_DATE, config=load_config())


def test_undecodable_text_is_quarantined_with_the_field_named_and_the_night_goes_on(
    run: RunContext,
) -> None:
    run_all(run)
    comments = pd.read_parquet(run.run_dir / "quarantine" / "questionnaire_responses.parquet")
    assert comments["_reason"].tolist() == ["comment: not valid UTF-8 text"]
    customers = pd.read_parquet(run.run_dir / "quarantine" / "customers.parquet")
    assert customers["_reason"].tolist() == [
        "family_name: not valid UTF-8 text; email: not valid UTF-8 text"
    ]
    assert customers["customer_id"].tolist() == ["7"]
    raw = run.require_report(ValidateRawReport).tables
    for table, c in raw.items():
        assert c.rows_in == c.clean + c.quarantined + c.out_of_scope, table
    assert raw["customers"].quarantined == 1
    assert run.require_report(PublishReport).published
    trail = "\n".join(str(e) for e in read_events(run.config.workdir))
    assert "sjis" not in trail and "stray" not in trail and "failed" not in trail
