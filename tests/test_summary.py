"""The summary tells the outcome first: succeeded, failed at which step and why, in progress or
stopped, and what is published or was withdrawn; every reason is printed literally."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.release.decision_record import DecisionRecord
from pipeline.release.publish import publish_release
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.lock import run_lock
from pipeline.run.step_reports import ExtractReport
from pipeline.run.summary import render_summary, run_outcome
from pipeline.settings.release_config import load_config
from pipeline.settings.signing_keys import load_signing_key
from pipeline.steps import STEPS

RUN_ID = "2026-11-24"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunContext:
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(tmp_path / "releases"))
    return RunContext(run_date=date(2026, 11, 24), config=load_config())


def _events(ctx: RunContext, *events: str | tuple[str, dict]) -> None:
    for event in events:
        name, details = (event, {}) if isinstance(event, str) else event
        audit.record(ctx.config.workdir, run_id=ctx.run_id, event=name, **details)


def _steps(*names: str) -> list[str]:
    return [f"{s}.{what}" for s in names for what in ("started", "done")]


def _publish(ctx: RunContext, recipient: str) -> None:
    publish_release(
        release_root=ctx.config.release_root,
        recipient=recipient,
        run_id=ctx.run_id,
        files={},
        profile={},
        signing_key=load_signing_key(),
    )


def _summary(ctx: RunContext) -> list[str]:
    buffer = io.StringIO()
    render_summary(ctx, console=Console(file=buffer, width=100, soft_wrap=True))
    return buffer.getvalue().splitlines()


def test_a_failed_run_says_where_and_why_first_and_that_nothing_is_published(ctx) -> None:
    folder = f"{ctx.config.release_root}/partner-cosmetics/{RUN_ID}"
    _events(
        ctx,
        "extract.started",
        ("release.withdrawn", {"folder": folder}),
        "extract.done",
        *_steps("validate_raw", "apply_customer_requests", "deidentify", "anonymize"),
        "build_tables.started",
        (
            "build_tables.failed",
            {
                "error": "ValuesOutsideDomainError",
                "message": "course_category: 1 value(s) outside the domain",
            },
        ),
    )
    lines = _summary(ctx)
    assert lines[1] == (
        f"run {RUN_ID}: FAILED at build_tables: course_category: 1 value(s) outside the "
        "domain (ValuesOutsideDomainError)"
    )
    assert lines[2] == "published: nothing for this run"
    assert lines[3] == f"withdrawn at the start of this attempt: {folder}"


def test_a_run_that_succeeded_after_a_retry_says_so_and_lists_what_is_published(ctx) -> None:
    _events(
        ctx,
        *_steps("extract"),
        "validate_raw.started",
        ("validate_raw.failed", {"error": "OperationalError", "message": "unexpected"}),
        *_steps(*STEPS[1:]),
    )
    _publish(ctx, "sponsor-adnet")
    _publish(ctx, "partner-cosmetics")
    lines = _summary(ctx)
    assert lines[1] == f"run {RUN_ID}: SUCCEEDED"
    assert lines[2] == "published: partner-cosmetics, sponsor-adnet"


def test_only_the_latest_attempt_counts(ctx) -> None:
    _events(
        ctx,
        "extract.started",
        ("extract.failed", {"error": "ExtractError", "message": "source table(s) missing: x"}),
        *_steps(*STEPS),
    )
    assert run_outcome(ctx).state == "succeeded"


def test_a_blocked_recipients_reasons_print_literally(ctx) -> None:
    """Rich read ``[k=50, l=2]`` as markup and dropped it from the blocked line."""
    reason = "customers_microdata [k=50, l=2]: expect_table_to_be_k_anonymous: 12 of 274 rows"
    _events(
        ctx,
        *_steps(*STEPS[:-1]),
        "publish.started",
        ("publish.failed", {"error": "RecipientsBlocked", "message": f"strict: {reason}"}),
    )
    DecisionRecord(
        allowed={},
        blocked={"strict": [reason]},
        profile_failures=[],
        docs_index=None,
        checks=[],
        sha256={},
    ).write(ctx.zone("reports"))
    _publish(ctx, "partner-cosmetics")
    lines = _summary(ctx)
    assert lines[1] == f"run {RUN_ID}: FAILED at publish: strict: {reason} (RecipientsBlocked)"
    assert lines[2] == "published: partner-cosmetics"
    assert lines[3] == "blocked (received nothing): strict"
    assert f"blocked strict: {reason}" in lines


def test_a_preflight_failure_leaves_the_earlier_attempt_and_says_so(ctx) -> None:
    _events(
        ctx,
        *_steps(*STEPS),
        "extract.started",
        ("extract.failed", {"error": "PreflightFailed", "message": "preflight failed: partners"}),
    )
    ctx.write_report(ExtractReport(rows_read={"customers": 3}, withdrawn=[]))
    _publish(ctx, "partner-cosmetics")
    lines = _summary(ctx)
    assert lines[1] == (
        f"run {RUN_ID}: FAILED at extract: preflight failed: partners (PreflightFailed)"
    )
    assert lines[2] == "still published from an earlier attempt: partner-cosmetics"
    assert lines[3].startswith("the run folder still holds an earlier attempt")


def test_a_run_in_progress_and_a_killed_run(ctx) -> None:
    _events(ctx, *_steps("extract"), "validate_raw.started")
    with run_lock(ctx.config.workdir, ctx.run_id):
        outcome = run_outcome(ctx)
        assert outcome.state == "in progress" and outcome.step == "validate_raw"
        assert _summary(ctx)[1].startswith(f"run {RUN_ID}: IN PROGRESS (pid ")
    stopped = _summary(ctx)[1]  # nobody holds the lock: the process ended mid-step
    assert stopped.startswith(f"run {RUN_ID}: STOPPED during validate_raw")


def test_summary_of_a_date_never_run_is_one_line_and_exit_1(ctx) -> None:
    result = CliRunner().invoke(app, ["summary", "--date", "2026-11-23"])
    assert result.exit_code == 1
    assert result.output == f"error: no run recorded for 2026-11-23 in {ctx.config.workdir}\n"
