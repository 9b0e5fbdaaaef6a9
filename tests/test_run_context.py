from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.run.context import RunContext
from pipeline.settings.release_config import load_config


def test_a_pinned_run_ignores_later_config_and_partner_edits(tmp_path: Path, monkeypatch) -> None:
    partners = tmp_path / "partners.yaml"
    partners.write_text("recipients: []\n")
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "wk"))
    monkeypatch.setenv("ANONRELEASE_PARTNERS", str(partners))
    ctx = RunContext(run_date=date(2026, 11, 24), config=load_config())
    ctx.reset()
    pinned = ctx.pin()
    partners.write_text("edited\n")
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "elsewhere"))
    later = RunContext(run_date=date(2026, 11, 24), config=load_config()).pinned()
    assert later.config == pinned.config
    assert Path(later.config.partners).read_text() == "recipients: []\n"
    assert later.config.release_root != str(tmp_path / "elsewhere")


def test_reset_clears_an_earlier_attempt(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path))
    ctx = RunContext(run_date=date(2026, 11, 24), config=load_config())
    ctx.write_report("publish", {"published": {"x": 1}})
    ctx.reset()
    assert ctx.read_report("publish") is None and ctx.run_dir.exists()
