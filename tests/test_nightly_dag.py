"""End to end: the real DAG, run by Airflow (dag.test) on a small generated database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from published_notices import publish_notices

from pipeline.demo import DEMO_DATE
from pipeline.demo.generator import generate_demo_database
from pipeline.release.datasets import report_names
from pipeline.release.publish import verify_release
from pipeline.run.audit import read_events
from pipeline.settings.partners import load_partners

RUN_DATE = DEMO_DATE
RUN = RUN_DATE.isoformat()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("source") / "source.sqlite"
    url = f"sqlite:///{path}"
    generate_demo_database(url, customers=2500, seed=7, as_of=RUN_DATE, dirty_rate=0.002)
    return url


def _personal_values(url: str) -> set[str]:
    """Every name, phone, email and street address in the source, to hunt for in releases."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT family_name, given_name, phone, email, street_address FROM customers")
        ).all()
    engine.dispose()
    values: set[str] = set()
    for family, given, phone, email, street in rows:
        values |= {v for v in (phone, email, street) if v}
        if family and given:
            values.add(f"{family}{given}")
            values.add(f"{family} {given}")
    return values


def _environment(monkeypatch: pytest.MonkeyPatch, root: Path, source: str, partners: Path | None):
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", source)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(root / "releases"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    monkeypatch.setenv("ANONRELEASE_RETRY_DELAY_SECONDS", "1")
    if partners is not None:
        monkeypatch.setenv("ANONRELEASE_PARTNERS", str(partners))


def _publish_notices(workdir: Path) -> None:
    """Record the public notices as published on the run date (microdata needs them)."""
    publish_notices(workdir, on=RUN_DATE)


def _published_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def nightly(airflow_db, source, tmp_path_factory) -> Iterator[tuple[Path, object]]:
    from pipeline.run.dag_test import run_dag

    root = tmp_path_factory.mktemp("nightly")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root, source, None)
        _publish_notices(root / "warehouse")
        outcome = run_dag(RUN_DATE)
        yield root, outcome


def test_dag_run_succeeds_and_publishes_verifiable_releases(nightly) -> None:
    root, outcome = nightly
    assert outcome.succeeded, outcome.tasks
    folders = sorted(p for p in (root / "releases").glob(f"*/{RUN}"))
    assert [f.parent.name for f in folders] == [
        "contractor-analytics",
        "partner-cosmetics",
        "sponsor-adnet",
    ]
    for folder in folders:
        manifest = verify_release(str(folder))
        assert manifest["run"] == RUN
        assert manifest["files"], folder
    sponsor = verify_release(str(root / "releases" / "sponsor-adnet" / RUN))
    names = [f["name"] for f in sponsor["files"]]
    allowed = load_partners().get("sponsor-adnet").allowed_datasets
    expected = {f"{d}{suffix}" for d in allowed for suffix in (".csv", ".dictionary.csv")}
    expected |= {f"{d}.summary.json" for d in allowed if d in report_names()}
    assert set(names) == expected and names == sorted(names)
    assert not any(n.startswith("customers_microdata") for n in names)
    cosmetics = verify_release(str(root / "releases" / "partner-cosmetics" / RUN))
    assert "customers_microdata.csv" in {f["name"] for f in cosmetics["files"]}


def test_every_provision_is_in_the_ledger_and_the_chain_holds(nightly) -> None:
    from pipeline.release.ledger import entries, open_ledger, verify_ledger

    root, _ = nightly
    engine = open_ledger(f"sqlite:///{root / 'warehouse' / 'ledger.sqlite'}")
    provided = {e.recipient: e for e in entries(engine) if e.outcome == "provided"}
    assert sorted(provided) == ["contractor-analytics", "partner-cosmetics", "sponsor-adnet"]
    for recipient, entry in provided.items():
        manifest = verify_release(str(root / "releases" / recipient / RUN))
        assert entry.files == {f["name"]: f["sha256"] for f in manifest["files"]}
        assert entry.run == RUN and entry.datasets
    assert verify_ledger(engine).entries == len(entries(engine))


def test_every_delivered_column_has_a_real_dictionary_entry(nightly) -> None:
    """Every column of every delivered dataset has its entry, none the placeholder text."""
    from pipeline.release.legal import load_texts

    root, _ = nightly
    placeholder = load_texts().no_description
    checked = 0
    for folder in sorted((root / "releases").glob(f"*/{RUN}")):
        for entry in verify_release(str(folder))["files"]:
            name = entry["name"]
            if not name.endswith(".csv") or ".dictionary." in name:
                continue
            dataset = name.removesuffix(".csv")
            dictionary = pd.read_csv(folder / f"{dataset}.dictionary.csv", dtype=str)
            assert dictionary["column"].tolist() == list(entry["columns"]), name
            for column in ("meaning_ja", "meaning_en", "generalization_ja", "generalization_en"):
                texts = dictionary[column].fillna("")
                assert (texts.str.len() > 0).all(), (name, column)
                assert not texts.str.contains(placeholder.ja, regex=False).any(), name
                assert not texts.str.contains(placeholder.en, regex=False).any(), name
            checked += 1
    assert checked >= len(report_names())


def test_no_personal_value_of_the_source_reaches_any_published_byte(nightly, source) -> None:
    root, _ = nightly
    published = b"\n".join(_published_files(root / "releases").values()).decode("utf-8")
    leaked = [v for v in _personal_values(source) if v in published]
    assert leaked == []


def test_no_personal_value_reaches_audit_reports_docs_or_quarantine_reasons(
    nightly, source
) -> None:
    root, _ = nightly
    warehouse = root / "warehouse"
    texts = [p.read_text(encoding="utf-8") for p in warehouse.glob("audit/*.jsonl")]
    texts += [p.read_text(encoding="utf-8") for p in warehouse.glob(f"{RUN}/reports/*.json")]
    texts += [
        p.read_text(encoding="utf-8", errors="ignore") for p in warehouse.rglob("docs/**/*.html")
    ]
    for path in warehouse.glob(f"{RUN}/quarantine/*.parquet"):
        frame = pd.read_parquet(path)
        if "_reason" in frame.columns:
            texts.append("\n".join(frame["_reason"].astype(str)))
    assert len(texts) > 10
    blob = "\n".join(texts)
    assert [v for v in _personal_values(source) if v in blob] == []


def test_counts_reconcile_in_the_run_reports(nightly) -> None:
    import json

    root, _ = nightly
    reports = root / "warehouse" / RUN / "reports"
    raw = json.loads((reports / "validate_raw.json").read_text())["tables"]
    for table, c in raw.items():
        assert c["in"] == c["clean"] + c["quarantined"], table
    assert raw["customers"]["quarantined"] > 0  # the generator's dirty rows were caught
    requests = json.loads((reports / "apply_customer_requests.json").read_text())
    deidentified = json.loads((reports / "deidentify.json").read_text())["rows"]
    excluded = sum(requests["customers_excluded"].values())
    assert raw["customers"]["clean"] == deidentified["customers"] + excluded


def test_summary_reconciles_every_table(nightly, monkeypatch) -> None:
    from pipeline.run.context import RunContext
    from pipeline.run.summary import reconciliation
    from pipeline.settings.release_config import load_config

    root, _ = nightly
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
    rows = reconciliation(RunContext(run_date=RUN_DATE, config=load_config()))
    assert [r["table"] for r in rows] == [
        "customers",
        "customers -> customers_microdata@monthly",
        "service_usage",
        "questionnaire_responses",
    ]
    assert all(r["reconciles"] for r in rows), rows
    assert rows[1]["suppressed"] > 0 or rows[1]["out"] == rows[0]["out"]
    assert rows[0]["excluded"] > 0 and rows[0]["quarantined"] > 0


def test_cli_run_writes_the_same_bytes_as_the_dag(nightly, source, tmp_path) -> None:
    """`anonrelease run` in another process, cwd and hash seed gives the DAG's bytes."""
    root, _ = nightly
    env = os.environ.copy()
    env.update(
        ANONRELEASE_SOURCE_URL=source,
        ANONRELEASE_HMAC_KEY="5a" * 32,
        PYTHONHASHSEED="12345",
    )
    _publish_notices(tmp_path / "warehouse")
    cli = Path(sys.executable).parent / "anonrelease"
    subprocess.run(
        [
            str(cli),
            "run",
            "--date",
            RUN,
            "--out",
            str(tmp_path / "releases"),
            "--workdir",
            str(tmp_path / "warehouse"),
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert _published_files(tmp_path / "releases") == _published_files(root / "releases")


def test_recipient_whose_minimum_is_not_met_gets_nothing(
    airflow_db, source, tmp_path, monkeypatch
) -> None:
    from pipeline.run.dag_test import run_dag

    registry = yaml.safe_load((REPO / "data" / "partners.yaml").read_text())
    strict = dict(registry["recipients"][0], id="strict-partner", min_k=100_000)
    registry["recipients"].append(strict)
    partners = tmp_path / "partners.yaml"
    partners.write_text(yaml.safe_dump(registry, allow_unicode=True))
    _environment(monkeypatch, tmp_path, source, partners)

    outcome = run_dag(RUN_DATE)

    assert outcome.state == "failed"
    assert outcome.tasks["publish"] == "failed"
    releases = tmp_path / "releases"
    assert not (releases / "strict-partner").exists()
    assert (releases / "partner-cosmetics" / RUN / "manifest.json").exists()
    events = read_events(tmp_path / "warehouse", run_id=RUN)
    blocked = [e for e in events if e["event"] == "recipient.blocked"]
    assert [e["recipient"] for e in blocked] == ["strict-partner"]
    assert any("k" in reason for reason in blocked[0]["reasons"])
    failed = [e for e in events if e["event"] == "publish.failed"]
    assert failed and "strict-partner" in failed[0]["message"]


def test_profile_failure_publishes_nothing_and_says_why(source, tmp_path, monkeypatch) -> None:
    from pipeline.release.errors import ReleaseBlocked
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.settings.release_config import load_config

    config = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    config["profile"]["k"] = 100_000
    path = tmp_path / "release.yaml"
    path.write_text(yaml.safe_dump(config))
    _environment(monkeypatch, tmp_path, source, None)
    with pytest.raises(ReleaseBlocked, match="no generalization satisfies"):
        run_all(RunContext(run_date=RUN_DATE, config=load_config(path)))
    assert not (tmp_path / "releases").exists()
    events = read_events(tmp_path / "warehouse", run_id=RUN)
    assert events[-1]["event"] == "anonymize.failed"
    assert events[-1]["error"] == "ReleaseBlocked"


def test_missing_source_database_fails_at_extract(tmp_path, monkeypatch) -> None:
    from pipeline.run.context import RunContext
    from pipeline.run.preflight import PreflightFailed
    from pipeline.run.runner import run_all
    from pipeline.settings.release_config import load_config

    _environment(monkeypatch, tmp_path, f"sqlite:///{tmp_path}/missing.sqlite", None)
    with pytest.raises(
        PreflightFailed, match=r"source: source database not found: .*missing\.sqlite"
    ):
        run_all(RunContext(run_date=RUN_DATE, config=load_config()))
    assert not (tmp_path / "releases").exists()
    assert not (tmp_path / "missing.sqlite").exists()
    events = read_events(tmp_path / "warehouse", run_id="2026-11-24")
    assert [e["event"] for e in events] == ["extract.started", "extract.failed"]


def test_quarantine_above_threshold_fails_the_run(tmp_path, monkeypatch) -> None:
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.settings.release_config import load_config
    from pipeline.steps.validate_raw import QuarantineThresholdExceeded

    url = f"sqlite:///{tmp_path}/dirty.sqlite"
    generate_demo_database(url, customers=300, seed=3, as_of=RUN_DATE, dirty_rate=0.3)
    _environment(monkeypatch, tmp_path, url, None)
    with pytest.raises(QuarantineThresholdExceeded, match="above the threshold"):
        run_all(RunContext(run_date=RUN_DATE, config=load_config()))
    quarantine = tmp_path / "warehouse" / RUN / "quarantine" / "customers.parquet"
    rejected = pd.read_parquet(quarantine)
    assert len(rejected) > 0 and rejected["_reason"].str.len().gt(0).all()
    assert not (tmp_path / "releases").exists()


def test_a_failed_rerun_leaves_nothing_of_the_earlier_attempt_published(
    source, tmp_path, monkeypatch
) -> None:
    from pipeline.release.errors import ReleaseBlocked
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.settings.release_config import load_config

    _environment(monkeypatch, tmp_path, source, None)
    run_all(RunContext(run_date=RUN_DATE, config=load_config()))
    assert list((tmp_path / "releases").glob(f"*/{RUN}/manifest.json"))

    config = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    config["profile"]["k"] = 100_000
    path = tmp_path / "release.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ReleaseBlocked):
        run_all(RunContext(run_date=RUN_DATE, config=load_config(path)))
    assert list((tmp_path / "releases").glob(f"*/{RUN}")) == []
    events = read_events(tmp_path / "warehouse", run_id=RUN)
    assert [e["event"] for e in events].count("release.withdrawn") == 3
    assert any(e["event"] == "release.blocked" for e in events)


def test_an_older_night_can_be_rerun_and_still_honours_later_deletions(
    source, tmp_path, monkeypatch
) -> None:
    """A backfill sees newer rows as out of scope, but every deletion in the snapshot."""
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.run.step_reports import ApplyCustomerRequestsReport, ValidateRawReport
    from pipeline.settings.release_config import load_config

    engine = sa.create_engine(source)
    with engine.connect() as conn:
        later = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM customer_requests "
                "WHERE request_type = 'deletion' AND requested_on > '2026-06-30'"
            )
        ).scalar_one()
    engine.dispose()
    assert later > 0
    _environment(monkeypatch, tmp_path, source, None)
    old_night = date(2026, 6, 30)
    run_all(RunContext(run_date=old_night, config=load_config()))
    ctx = RunContext(run_date=old_night, config=load_config())
    raw = ctx.require_report(ValidateRawReport).tables
    assert raw["customers"].out_of_scope > 0
    assert all(c.rows_in == c.clean + c.quarantined + c.out_of_scope for c in raw.values())
    excluded = ctx.require_report(ApplyCustomerRequestsReport).customers_excluded
    requests = pd.read_parquet(ctx.run_dir / "clean" / "customer_requests.parquet")
    deletions = requests.loc[requests["request_type"] == "deletion", "customer_id"]
    customers = pd.read_parquet(ctx.run_dir / "clean" / "customers.parquet")
    assert excluded["deletion_request"] == deletions.isin(customers["customer_id"]).sum()


def test_asset_events_name_the_run_and_its_folder(nightly) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    root, _ = nightly
    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra).join(
                AssetModel, AssetEvent.asset_id == AssetModel.id
            )
        ).all()
    events = {name: extra for name, extra in rows if extra.get("run_dir", "").startswith(str(root))}
    assert set(events) == {
        "anonrelease_raw_snapshot",
        "anonrelease_deidentified",
        "anonrelease_anonymized",
        "anonrelease_releases",
    }
    assert all(e["run"] == RUN for e in events.values())
