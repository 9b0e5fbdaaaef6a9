"""Preflight: config, partners, hierarchies, suites, key, source and folders are checked before
extract touches the source, withdraws or resets anything; future run dates are refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.demo.generator import generate_demo_database
from pipeline.release.publish import publish_release
from pipeline.run.audit import read_events
from pipeline.run.context import RunContext
from pipeline.run.preflight import (
    PreflightFailed,
    allowing_future_dates,
    check_folder,
    check_release_root,
    check_run_date,
    check_source,
    preflight,
    run_checks,
)
from pipeline.settings.release_config import load_config
from pipeline.settings.signing_keys import load_signing_key
from transforms.errors import EXIT_CONFIGURATION, ConfigurationError

RUN_DATE = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[1]
BAD_ID_PATTERN = "'^[a-z0-9][a-z0-9_-]*$'"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.sqlite'}"
    generate_demo_database(url, customers=300, seed=5, as_of=RUN_DATE, dirty_rate=0.001)
    return url


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str) -> Path:
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", source)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    return tmp_path


def _bad_partners(tmp_path: Path) -> Path:
    registry = yaml.safe_load((REPO / "data" / "partners.yaml").read_text(encoding="utf-8"))
    registry["recipients"][1]["id"] = "Sponsor AdNet"  # not a folder-safe id
    path = tmp_path / "partners.yaml"
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    return path


def test_a_bad_partner_registry_fails_at_extract_before_the_source_is_read(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: extract, validation, de-identification and the search ran; build_tables failed."""
    from pipeline.run.runner import run_all

    monkeypatch.setenv("ANONRELEASE_PARTNERS", str(_bad_partners(env)))
    ctx = RunContext(run_date=RUN_DATE, config=load_config())
    earlier = publish_release(
        release_root=str(env / "releases"),
        recipient="partner-cosmetics",
        run_id=ctx.run_id,
        files={},
        profile={},
        signing_key=load_signing_key(),
    )
    ctx.run_dir.mkdir(parents=True)
    (ctx.run_dir / "earlier-attempt.txt").write_text("kept\n")

    with pytest.raises(PreflightFailed) as err:
        run_all(ctx)

    assert "partners:" in str(err.value) and "recipients.1(Sponsor AdNet).id" in str(err.value)
    assert BAD_ID_PATTERN in str(err.value)
    assert err.value.exit_code == EXIT_CONFIGURATION
    assert (ctx.run_dir / "earlier-attempt.txt").exists()  # not reset
    assert not (ctx.run_dir / "raw").exists()  # the source was not read
    assert (Path(earlier.folder) / "manifest.json").exists()  # nothing withdrawn
    events = [e["event"] for e in read_events(env / "warehouse", run_id=ctx.run_id)]
    assert events == ["extract.started", "extract.failed"]


def test_every_item_is_checked_and_reported(env: Path) -> None:
    checks = run_checks(load_config(), run_date=RUN_DATE)
    assert [c.item for c in checks] == [
        "run date",
        "source",
        "workdir",
        "release root",
        "partners",
        "hierarchies",
        "suites",
        "hmac key",
        "signing key",
        "ledger",
    ]
    assert all(c.ok for c in checks), checks
    suites = next(c for c in checks if c.item == "suites").detail
    assert "raw_customers" in suites and "released_microdata" in suites
    assert "5a" not in "".join(c.detail for c in checks)  # never the key


def test_failures_are_collected_with_the_item_named(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANONRELEASE_HMAC_KEY")
    config = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    config["profile"]["quasi_identifiers"] = ["age", "gender", "shoe_size"]
    for lever in ("weights", "min_levels", "max_levels"):  # they name the shipped QIs
        config["profile"].pop(lever, None)
    path = env / "release.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(PreflightFailed) as err:
        preflight(load_config(path), run_date=RUN_DATE)
    failed = {c.item: c.detail for c in err.value.failures}
    assert set(failed) == {"hierarchies", "hmac key"}
    assert "'shoe_size'" in failed["hierarchies"]
    assert "ANONRELEASE_HMAC_KEY" in failed["hmac key"]


def test_demo_mode_uses_the_demo_key_as_deidentify_does(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANONRELEASE_HMAC_KEY")
    monkeypatch.setenv("ANONRELEASE_DEMO", "1")
    monkeypatch.setenv("ANONRELEASE_DEMO_KEY_FILE", str(env / "demo.key"))
    (key,) = [c for c in run_checks(load_config()) if c.item == "hmac key"]
    assert key.ok and "demo mode" in key.detail


def test_a_suite_that_cannot_be_loaded_fails_preflight(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expectations.validation as validation

    monkeypatch.setattr(validation, "SUITES_DIR", env / "no-suites-here")
    (suites,) = [c for c in run_checks(load_config()) if c.item == "suites"]
    assert not suites.ok and "no such suite" in suites.detail


def test_source_must_be_an_installed_driver_and_a_whole_sqlite_file(
    tmp_path: Path, source: str
) -> None:
    database = Path(source.removeprefix("sqlite:///"))
    assert "SQLite database" in check_source(source)
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(database.read_bytes()[:5000])
    text = tmp_path / "notes.sqlite"
    text.write_text("name,phone\n")
    cases = {
        f"sqlite:///{tmp_path}/missing.sqlite": r"source database not found: .*missing\.sqlite",
        f"sqlite:///{truncated}": r"truncated\.sqlite: truncated \(5000 of \d+ bytes\)",
        f"sqlite:///{text}": r"notes\.sqlite: not an SQLite database file",
        "sqlite://": "needs a database file",
        "oracle+nosuch://u@h/db": r"unknown database dialect or driver 'oracle\+nosuch'",
        "mysql+mysqldb://alice:SECRET@host/salon": r"'mysql\+mysqldb' is not installed",
        "no url at all": "not a SQLAlchemy URL",
    }
    for url, reason in cases.items():
        with pytest.raises(ConfigurationError, match=reason) as err:
            check_source(url)
        assert "SECRET" not in str(err.value)
    assert not (tmp_path / "missing.sqlite").exists()


def test_folders_must_be_writable_folders_and_urls_known(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert "writable folder" in check_folder(tmp_path, what="workdir")
    assert "will be created" in check_folder(tmp_path / "new" / "deeper", what="workdir")
    with pytest.raises(ConfigurationError, match=r"workdir .*file\.txt: is a file"):
        check_folder(a_file, what="workdir")
    with pytest.raises(ConfigurationError, match=r"file\.txt is a file, expected a folder"):
        check_release_root(str(a_file / "releases"))
    with pytest.raises(ConfigurationError, match="protocol 'nosuchproto' is unknown"):
        check_release_root("nosuchproto://bucket/releases")
    assert "writable folder" in check_release_root(f"file://{tmp_path}")


def test_a_run_date_after_today_is_refused_unless_allowed(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    future = date(2030, 1, 1)
    with pytest.raises(ConfigurationError, match=r"run date 2030-01-01 is after today") as err:
        check_run_date(future, timezone="Asia/Tokyo")
    assert "--allow-future-date" in str(err.value)
    assert "ANONRELEASE_ALLOW_FUTURE_DATE=1" in str(err.value)
    assert "allowed for testing" in check_run_date(future, timezone="UTC", allow_future=True)
    assert check_run_date(RUN_DATE, timezone="Asia/Tokyo")
    config = load_config()
    with pytest.raises(PreflightFailed, match="run date"):
        preflight(config, run_date=future)
    with allowing_future_dates():
        preflight(config, run_date=future)
    monkeypatch.setenv("ANONRELEASE_ALLOW_FUTURE_DATE", "1")
    preflight(config, run_date=future)


def test_a_future_run_is_refused_by_the_extract_step_too(env: Path) -> None:
    """The DAG's extract task refuses it as well: nothing is published into a 2030 folder."""
    from pipeline.run.runner import run_step

    ctx = RunContext(run_date=date(2030, 1, 1), config=load_config())
    with pytest.raises(PreflightFailed, match="after today"):
        run_step(ctx, "extract")
    assert not ctx.run_dir.exists()
    assert not (env / "releases").exists()


def test_config_check_prints_one_line_per_item(env: Path) -> None:
    result = CliRunner().invoke(app, ["config", "check", "--date", "2026-11-24"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "config"],
        ["ok", "run"],
        ["ok", "source"],
        ["ok", "workdir"],
        ["ok", "release"],
        ["ok", "partners"],
        ["ok", "hierarchies"],
        ["ok", "suites"],
        ["ok", "hmac"],
        ["ok", "signing"],
        ["ok", "ledger"],
    ]


def test_config_check_exits_2_and_prints_brackets_literally(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANONRELEASE_PARTNERS", str(_bad_partners(env)))
    result = CliRunner().invoke(app, ["config", "check"], env={"COLUMNS": "80"})
    assert result.exit_code == EXIT_CONFIGURATION
    (partners,) = [line for line in result.output.splitlines() if " partners " in line]
    assert partners.startswith("FAILED") and BAD_ID_PATTERN in partners
    future = CliRunner().invoke(app, ["config", "check", "--date", "2030-01-01"])
    assert future.exit_code == EXIT_CONFIGURATION and "FAILED run date" in future.output
    allowed = CliRunner().invoke(
        app, ["config", "check", "--date", "2030-01-01", "--allow-future-date"]
    )
    assert "ok     run date" in allowed.output


def test_config_check_stops_at_an_invalid_config_naming_file_and_field(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (REPO / "data" / "config" / "release.yaml").read_text(encoding="utf-8")
    path = env / "release.yaml"
    path.write_text(text.replace("timezone: Asia/Tokyo", "timezone: Asia/Tokio"))
    monkeypatch.setenv("ANONRELEASE_CONFIG", str(path))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == EXIT_CONFIGURATION
    (line,) = result.output.splitlines()
    assert line.startswith("FAILED config") and str(path) in line and "timezone" in line
