from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.run.context import RunContext
from pipeline.run.step_reports import PublishReport
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
    ctx.write_report(PublishReport(published={}, blocked={}, held={}, not_due={}, withdrawn=["x"]))
    ctx.reset()
    assert ctx.read_report(PublishReport) is None and ctx.run_dir.exists()


SECRET_URL = "postgresql+psycopg://alice:SECRET@127.0.0.1:1/salon?connect_timeout=2"


def _files_text(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", errors="replace") for p in root.rglob("*") if p.is_file()
    )


def test_the_source_password_is_never_written_and_extract_still_gets_it(
    tmp_path: Path, monkeypatch
) -> None:
    """The pinned config holds the redacted URL; extract connects with the real one."""
    import pipeline.steps.extract as extract_step
    from pipeline.run.runner import run_step
    from pipeline.sources.extract import SourceUnavailable

    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", SECRET_URL)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "wk"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)  # the preflight checks the key first
    ctx = RunContext(run_date=date(2026, 11, 24), config=load_config())
    seen: list[str] = []
    real = extract_step.extract_all

    def spy(url: str, out: Path):
        seen.append(url)
        return real(url, out)

    monkeypatch.setattr(extract_step, "extract_all", spy)
    with pytest.raises(SourceUnavailable) as err:  # nothing listens on port 1
        run_step(ctx, "extract")
    assert seen == [SECRET_URL]
    assert "SECRET" not in str(err.value) and "alice:***@127.0.0.1:1" in str(err.value)
    pinned = json.loads((ctx.run_dir / "config.json").read_text())
    assert pinned["source_url"] == (
        "postgresql+psycopg://alice:***@127.0.0.1:1/salon?connect_timeout=2"
    )
    assert "SECRET" not in _files_text(tmp_path)  # pinned config, audit trail, reports
    assert ctx.pinned().config.source_url == pinned["source_url"]


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (
            "postgresql+psycopg://alice:SECRET@host/salon",
            "postgresql+psycopg://alice:***@host/salon",
        ),
        ("postgresql://alice:S@CRET@host/salon", "postgresql://alice:***@host/salon"),
        ("postgresql://alice:SE/CRET@host:5432/salon", "postgresql://alice:***@host:5432/salon"),
        ("postgresql://host/salon?password=SECRET", "postgresql://host/salon?password=%2A%2A%2A"),
        ("postgresql://alice@host/salon", "postgresql://alice@host/salon"),
        ("sqlite:////srv/data/source.sqlite", "sqlite:////srv/data/source.sqlite"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    from pipeline.settings.secrets import redact_url

    assert redact_url(url) == redacted


def test_a_yaml_error_names_the_line_never_its_text(tmp_path: Path) -> None:
    from pipeline.settings.release_config import ConfigError

    path = tmp_path / "release.yaml"
    path.write_text("source_url: postgresql://alice:SECRET@host/db\nprofile: {k: [10\n")
    with pytest.raises(ConfigError, match=r"release\.yaml: not valid YAML: .*line 3") as err:
        load_config(path)
    assert "SECRET" not in str(err.value)
