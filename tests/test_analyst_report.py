"""Analysts' reports on demand: ``anonrelease report`` and the ``analyst_report`` DAG build the
same protected table with the same bytes; unknown specs, methods and windows get a message that
lists what is valid; a DP request that would overspend is refused with the budget left."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.demo.generator import generate_demo_database
from pipeline.release.budget_ledger import BudgetExceededError
from pipeline.run.context import RunContext
from pipeline.run.runner import run_all
from pipeline.settings.release_config import load_config
from pipeline.settings.report_specs import UnknownReportOptionError
from pipeline.steps.analyst_report import analyst_report

pytestmark = pytest.mark.slow
RUN_DATE = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One nightly run on a small generated source: the analysts' de-identified data."""
    root = tmp_path_factory.mktemp("analyst")
    url = f"sqlite:///{root / 'source.sqlite'}"
    generate_demo_database(url, customers=2500, seed=5, as_of=RUN_DATE, dirty_rate=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANONRELEASE_SOURCE_URL", url)
        mp.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
        mp.setenv("ANONRELEASE_RELEASE_ROOT", str(root / "releases"))
        mp.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
        mp.setenv("ANONRELEASE_ANALYST_DIR", str(root / "analysts"))
        run_all(RunContext(run_date=RUN_DATE, config=load_config()))
        yield root


def _ctx() -> RunContext:
    return RunContext(run_date=RUN_DATE, config=load_config())


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_cli_writes_csv_parquet_and_summary_the_same_twice(nightly: Path) -> None:
    args = ["report", "visits_by_course_quarter_area", "--from", "2026-01-01", "--to", "2026-06-30"]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--out", str(nightly / "a")])
    second = runner.invoke(app, [*args, "--out", str(nightly / "b")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    files = _bytes(nightly / "a")
    assert sorted(files) == [
        "visits_by_course_quarter_area.csv",
        "visits_by_course_quarter_area.parquet",
        "visits_by_course_quarter_area.summary.json",
    ]
    assert files == _bytes(nightly / "b")
    header = files["visits_by_course_quarter_area.csv"].decode().splitlines()[0]
    assert header == "course,quarter,store_area,value,flag"
    assert b"2026-Q1" in files["visits_by_course_quarter_area.csv"]
    assert b"2025-Q4" not in files["visits_by_course_quarter_area.csv"]


def test_unknown_spec_method_and_window_list_what_is_valid(nightly: Path) -> None:
    out = nightly / "bad"
    with pytest.raises(UnknownReportOptionError, match=r"known: .*visits_by_course_quarter_area"):
        analyst_report(_ctx(), spec_name="visits_by_region", out_dir=out)
    with pytest.raises(UnknownReportOptionError, match=r"not allowed \(suppress\)"):
        analyst_report(
            _ctx(), spec_name="satisfaction_by_course_age", out_dir=out, method_name="dp"
        )
    with pytest.raises(UnknownReportOptionError, match="on or before 2026-11-24"):
        analyst_report(
            _ctx(),
            spec_name="visits_by_course_quarter_area",
            out_dir=out,
            date_from=date(2026, 1, 1),
            date_to=date(2027, 1, 1),
        )
    result = CliRunner().invoke(app, ["report", "nope", "--out", str(out)])
    assert result.exit_code == 2
    assert "known:" in result.output and not out.exists()


def _budget_ctx(tmp_path: Path, budget: float) -> RunContext:
    """A run context whose config file (data/config/release.yaml) sets dp.analyst_budget."""
    text = (REPO / "data" / "config" / "release.yaml").read_text(encoding="utf-8")
    assert "  analyst_budget: 3.0\n" in text
    path = tmp_path / "release.yaml"
    path.write_text(text.replace("  analyst_budget: 3.0\n", f"  analyst_budget: {budget}\n"))
    return RunContext(run_date=RUN_DATE, config=load_config(path))


def test_dp_reruns_spend_nothing_and_an_overspend_is_refused(nightly: Path, tmp_path: Path) -> None:
    ctx = _budget_ctx(tmp_path, 1.5)
    kwargs = {"method_name": "dp", "recipient": "analyst-ito"}
    spec = "customers_by_region_age_gender"
    first = analyst_report(ctx, spec_name=spec, out_dir=nightly / "dp1", **kwargs)
    again = analyst_report(ctx, spec_name=spec, out_dir=nightly / "dp2", **kwargs)
    assert _bytes(nightly / "dp1") == _bytes(nightly / "dp2")  # stored noise, no new spend
    assert first.summary["budget_remaining"] == again.summary["budget_remaining"] == 0.5
    other = "mail_magazine_subscribers_by_region_age"
    with pytest.raises(BudgetExceededError, match=r"only 0\.5 of 1\.5 remains") as refused:
        analyst_report(ctx, spec_name=other, out_dir=nightly / "dp3", **kwargs)
    assert refused.value.remaining == 0.5
    assert not (nightly / "dp3").exists()


def test_a_dp_rerun_after_a_later_spend_writes_the_same_bytes(nightly: Path) -> None:
    """The summary states the budget left as of that release, not of the rerun."""
    kwargs = {"method_name": "dp", "recipient": "analyst-sato"}
    spec = "customers_by_region_age_gender"
    first = analyst_report(_ctx(), spec_name=spec, out_dir=nightly / "r1", **kwargs)
    later = analyst_report(
        _ctx(),
        spec_name="mail_magazine_subscribers_by_region_age",
        out_dir=nightly / "r2",
        **kwargs,
    )
    analyst_report(_ctx(), spec_name=spec, out_dir=nightly / "r3", **kwargs)
    assert (first.summary["budget_remaining"], later.summary["budget_remaining"]) == (2.0, 1.0)
    assert _bytes(nightly / "r1") == _bytes(nightly / "r3")


def test_a_smaller_configured_budget_refuses_what_the_default_allows(
    nightly: Path, tmp_path: Path
) -> None:
    spec = "customers_by_region_age_gender"  # dp at epsilon 1.0
    small = _budget_ctx(tmp_path, 0.75)
    with pytest.raises(BudgetExceededError, match=r"epsilon 1 but only 0\.75 of 0\.75 remains"):
        analyst_report(
            small, spec_name=spec, out_dir=nightly / "small", method_name="dp", recipient="a-1"
        )
    assert not (nightly / "small").exists()
    # The shipped configuration (3.0 a year) allows the same request of another analyst.
    assert _ctx().config.dp.analyst_budget == 3.0
    done = analyst_report(
        _ctx(), spec_name=spec, out_dir=nightly / "default", method_name="dp", recipient="a-2"
    )
    assert done.summary["budget_remaining"] == 2.0
    assert (nightly / "default" / f"{spec}.csv").is_file()


def test_the_dag_writes_the_same_bytes_as_the_cli(nightly: Path, tmp_path: Path) -> None:
    home = tmp_path / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run(
        [airflow, "db", "migrate"], check=True, capture_output=True, env=env, timeout=600
    )
    script = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "run = bag.dags['analyst_report'].test(run_conf={'spec': 'visits_by_course_quarter_area',"
        " 'date_from': '2026-01-01', 'date_to': '2026-06-30'})\n"
        "print('STATE', run.state)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900
    )
    assert "STATE success" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    dag_files = _bytes(nightly / "analysts" / "visits_by_course_quarter_area")
    CliRunner().invoke(
        app,
        [
            "report",
            "visits_by_course_quarter_area",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--out",
            str(tmp_path / "cli"),
        ],
    )
    assert dag_files == _bytes(tmp_path / "cli")
