"""``anonrelease check`` as a whole process vs pycanon's whole process, Adult x100 (3,016,200 rows).

Each measurement is the wall time of one fresh process (interpreter start, imports, reading
the file, the check, printing), as a user runs it: ``anonrelease check FILE --qi ... --k 5``
(k) or ``--sensitive salary-class --l 2`` (distinct l), and pycanon's ``k_anonymity`` /
``l_diversity`` after ``pd.read_csv`` (``peers/pycanon_process.py``). The commands run
alternately, round after round, so the machine's load falls on all of them alike; the table
gives the median and the best of the rounds. One unrecorded warm-up round first fills the
page cache and the bytecode caches (``PYTHONDONTWRITEBYTECODE`` is unset for the runs, as on
a user's machine). Writes its own section of RESULTS.md (kept by ``run_all.py --render``).

    .venv/bin/python benchmarks/bench_process.py [--rounds 5] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _harness as h

SCALE = 100
SECTION = "## Whole process: `anonrelease check` vs pycanon (benchmarks/bench_process.py)"
BEGIN, END = "<!-- process: begin -->", "<!-- process: end -->"
QI_ARGS = [arg for column in h.ADULT_QI for arg in ("--qi", column)]
CHECK_ARGS = {"k": ["--k", "5"], "l": ["--sensitive", h.SENSITIVE, "--l", "2"]}


def commands() -> dict[str, list[str]]:
    anonrelease = str(Path(sys.executable).parent / "anonrelease")
    peer = str(h.peer_python("pycanon"))
    script = str(h.BENCH / "peers" / "pycanon_process.py")
    out = {}
    for check, args in CHECK_ARGS.items():
        out[f"pycanon {check} csv"] = [peer, script, check, str(h.data_path(SCALE, "csv"))]
        for fmt in ("csv", "parquet"):
            path = str(h.data_path(SCALE, fmt))
            out[f"ours {check} {fmt}"] = [anonrelease, "check", path, *QI_ARGS, *args]
    return out


def wall(argv: list[str]) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=h.ROOT)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: a check not met (k = 1 on Adult), still a result
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.strip()[-300:]}")
    return seconds, proc.stdout


def run(rounds: int) -> dict[str, list[float]]:
    h.prepare_adult([SCALE])
    jobs = commands()
    for argv in jobs.values():  # warm-up: page cache, bytecode caches
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for r in range(rounds):
        for name, argv in jobs.items():
            seconds, _ = wall(argv)
            times[name].append(round(seconds, 3))
        h.log(f"process: round {r + 1}/{rounds}: {[(n, t[-1]) for n, t in times.items()]}")
    return times


def render(times: dict[str, list[float]], rounds: int) -> str:
    m = h.machine()
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {m['cpu']} x "
        f"{m['nproc']} (nproc), {m['ram_gib']} GiB, Python {m['python']}, pandas "
        f"{m['pandas']} (pycanon's venv: pandas 2, pycanon 1.3.6); the machine is shared with "
        "other engineers' work. Adult x100 = 3,016,200 rows: CSV 249 MB, Parquet 10 MB "
        "(written by pandas: text columns, age int64). Wall time of the whole process, "
        f"{rounds} alternating rounds after a warm-up round; *ratio* = pycanon's median / ours "
        "(pycanon reads only CSV, so the Parquet rows compare with pycanon on the CSV).",
        "",
        "| check | input | ours median s | ours best s | pycanon median s | pycanon best s "
        "| ratio (median) | all ours s | all pycanon s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for check in CHECK_ARGS:
        peer = times[f"pycanon {check} csv"]
        for fmt in ("csv", "parquet"):
            ours = times[f"ours {check} {fmt}"]
            ratio = statistics.median(peer) / statistics.median(ours)
            lines.append(
                f"| {check} | {fmt} | {statistics.median(ours):.2f} | {min(ours):.2f} | "
                f"{statistics.median(peer):.2f} | {min(peer):.2f} | {ratio:.1f}x | "
                f"{', '.join(f'{t:.2f}' for t in ours)} | {', '.join(f'{t:.2f}' for t in peer)} |"
            )
    lines += [
        "",
        "k: `--k 5`; l: distinct l-diversity on salary-class, `--l 2`. On x100 both tools "
        "report k = 100 and l = 1 (checked by hand). "
        "Command: `.venv/bin/python benchmarks/bench_process.py`.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    times = run(args.rounds)
    h.save("process", times)
    text = render(times, args.rounds)
    print(text)
    if not args.no_write:
        h.write_section(h.BENCH / "RESULTS.md", text, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
