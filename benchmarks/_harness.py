"""Shared plumbing for the benchmarks: data files, peer virtualenvs, one subprocess per measurement.

Every measurement runs in a fresh Python process, which prints one JSON line (seconds, peak
RSS, RSS after loading the input, and the tool's answer). Peak memory is the process's own
high-water mark (``VmHWM``), so it includes imports and reading the input;
``rss_after_load_mb`` shows where the process stood before the measured operation.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import adult_columns
import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
PEERS = BENCH / ".venv-peers"
ADULT_DIR = ROOT / "tests" / "fixtures" / "adult"
SENSITIVE = adult_columns.SENSITIVE
ADULT_QI = adult_columns.QI

# Peer tools pin old pandas, so each lives in its own virtualenv (never in the project's).
PEER_REQUIREMENTS = {
    "pycanon": ["pycanon==1.3.6"],
    "anonypy": ["anonypy==0.2.1", "pandas==2.2.3"],
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- inside a worker process -----------------------------------------------------------------


def rss_mb() -> float:
    """Current resident set size of this process (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """Peak RSS of this process image (VmHWM).

    Not ``ru_maxrss``: on Linux that survives exec, so a worker would inherit the peak of
    the orchestrator it was forked from.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(record: dict[str, Any]) -> None:
    record.setdefault("peak_rss_mb", round(peak_mb(), 1))
    print(json.dumps(record), flush=True)


# --- data ----------------------------------------------------------------------------------


def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT_DIR / "adult.csv", sep=";")


def data_path(scale: int, fmt: str, variant: str = "adult") -> Path:
    return WORK / f"{variant}_x{scale}.{fmt}"


def replicate(df: pd.DataFrame, scale: int) -> pd.DataFrame:
    """``scale`` copies of every row (index 0..n-1, as pycanon needs)."""
    return pd.concat([df] * scale, ignore_index=True)


def prepare_adult(scales: Sequence[int]) -> None:
    """Adult xN as CSV (read by the peers' pandas 2) and Parquet (read by ours)."""
    WORK.mkdir(parents=True, exist_ok=True)
    base = adult()
    for scale in scales:
        csv_path, pq_path = data_path(scale, "csv"), data_path(scale, "parquet")
        if csv_path.exists() and pq_path.exists():
            continue
        log(f"writing Adult x{scale}")
        df = replicate(base, scale)
        df.to_csv(csv_path, index=False)
        df.to_parquet(pq_path, index=False)


# --- peer virtualenvs ----------------------------------------------------------------------


def peer_python(name: str) -> Path:
    """Python of the peer's virtualenv, created and installed from PyPI on first use."""
    env = PEERS / name
    python = env / "bin" / "python"
    marker = env / ".installed"
    wanted = " ".join(PEER_REQUIREMENTS[name])
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"creating peer virtualenv {env} ({wanted})")
    PEERS.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(env)], check=True)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS[name]],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        sys.stderr.write(pip.stdout + pip.stderr)
        raise SystemExit(f"pip install failed in {env}")
    marker.write_text(wanted)
    return python


def peer_versions(name: str) -> dict[str, str]:
    python = peer_python(name)
    out = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    wanted = {"pycanon", "anonypy", "pandas", "numpy"}
    return {p["name"]: p["version"] for p in json.loads(out.stdout) if p["name"].lower() in wanted}


# --- running one measurement ---------------------------------------------------------------


def measure(argv: Sequence[str], *, timeout: float = 900.0, env: dict | None = None) -> dict:
    """Run one worker process and return its JSON record (or an error record)."""
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "wall_s": round(timeout, 1)}
    wall = time.perf_counter() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {proc.returncode}", "wall_s": round(wall, 1)}
    record = json.loads(lines[-1])
    record["wall_s"] = round(wall, 2)
    return record


def our_worker(script: str, *args: str) -> list[str]:
    return [sys.executable, str(BENCH / script), "worker", *args]


def peer_worker(name: str, script: str, *args: str) -> list[str]:
    return [str(peer_python(name)), str(BENCH / "peers" / script), *args]


# --- machine description -------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import scipy

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }


def save(name: str, payload: Any) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"results_{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path


def load(name: str) -> Any:
    path = WORK / f"results_{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def write_section(path: Path, text: str, *, begin: str, end: str) -> None:
    """Put a benchmark's own section between its markers in ``path`` (before the hand-written
    "Reading of this run", or at the end), replacing the previous one."""
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    current = path.read_text() if path.exists() else ""
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        updated = head + block + "\n" + rest.split(end, 1)[1].lstrip("\n")
    elif "## Reading of this run" in current:
        head, tail = current.split("## Reading of this run", 1)
        updated = head + block + "\n## Reading of this run" + tail
    else:
        updated = current.rstrip() + "\n\n" + block
    path.write_text(updated)
