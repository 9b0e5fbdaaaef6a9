"""Time and peak memory of the demo database generator (generate, then write to SQLite).

Usage: ``.venv/bin/python benchmarks/bench_demo_data.py 10000 1000000``. Each size runs in
a fresh process and prints one JSON line; the database goes to benchmarks/work/ (ignored).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

WORK = Path(__file__).resolve().parent / "work"


def measure(customers: int) -> dict[str, object]:
    from pipeline.demo.generator import generate_demo_tables, write_tables

    db = WORK / f"demo_{customers}.sqlite"
    start = time.perf_counter()
    tables = generate_demo_tables(
        customers=customers, seed=42, as_of=date(2026, 11, 24), dirty_rate=0.001
    )
    generated = time.perf_counter()
    counts = write_tables(f"sqlite:///{db}", tables)
    written = time.perf_counter()
    return {
        "customers": customers,
        "rows": sum(counts.values()),
        "generate_s": round(generated - start, 2),
        "write_s": round(written - generated, 2),
        "total_s": round(written - start, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "db_mb": round(db.stat().st_size / 2**20, 1),
    }


def main(sizes: list[str]) -> None:
    if sizes and sizes[0] == "--one":
        print(json.dumps(measure(int(sizes[1]))))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    for size in sizes or ["10000", "1000000"]:
        subprocess.run([sys.executable, __file__, "--one", size], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
