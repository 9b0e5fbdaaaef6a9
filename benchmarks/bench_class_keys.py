"""Equivalence-class keys: main's five implementations vs ``transforms.class_keys``.

Part 1, in this process, on the same inputs: the old functions are loaded from
``git show <ref>:transforms/...`` (never kept in the package) and timed against the new code;
every pair must give identical outputs (asserted). Inputs are int64 code columns with skewed
(Zipf, a=1) values and realistic cardinalities; "overflow" has cardinalities whose product
passes 2**62, so the key is re-factorized on the way. Functions:

* *tuples*: ``encode._combine`` (the same loop as ``mondrian._distinct_tuples`` and the one
  inside ``lattice.evaluate_node``) vs ``equivalence_classes(...)`` ids + first rows, codes in;
* ``privacy_models.qi_class_ids`` and ``utility.class_ids`` old vs new, a frame of the code
  columns in (each column factorized as the pipeline does);
* counts of 4 partitions merged with ``merge_counts`` vs ``ClassCounts.from_codes`` on the
  whole (new only; equal counts asserted).

Part 2, public entry points, one fresh process per measurement (``_harness.measure``), once
with the package exported from ``<ref>`` (``git archive`` into ``benchmarks/work/``) and once
with this tree: ``check_privacy`` (k=5) on Adult x100 and on a synthetic 10 M-row frame with
high-cardinality columns, ``encode_table`` + ``search`` and ``anonymize`` on Adult (9 QIs, k=5,
4 %), Mondrian ``anonymize`` on Adult x10, ``reidentification_risk`` on Adult x100 and on the
synthetic frame.

Best of ``--repeat`` runs (default 3) everywhere, by the CPU time of the process unless
``--clock wall``: the machine is shared, and CPU time leaves out the waits for a core.

    python benchmarks/bench_class_keys.py run [--rows 1000000 10000000] [--old-ref REF]
        [--entries ...] [--rounds 2] [--clock cpu|wall] [--write benchmarks/RESULTS.md]

``REF`` defaults to the parent of the commit that added ``transforms/class_keys.py`` (main
just before this change); entry points run in ``--rounds`` alternating old/new process pairs,
best of each kept.
"""

from __future__ import annotations

import argparse
import itertools
import math
import shutil
import subprocess
import sys
import tarfile
import time
import types
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import _harness as h
import numpy as np
import pandas as pd

CASES = {  # name -> cardinalities, first column most significant
    "5 cols (Adult-like)": [2, 74, 5, 7, 16],
    "9 cols (Adult-like + zip)": [2, 74, 5, 7, 16, 41, 8, 14, 1000],
    "3 cols, high cardinality": [100_000, 36_500, 20],
    "6 cols, overflow": [100_000, 36_500, 1_000_000, 365, 1000, 74],
}
ADULT_QI9 = [*h.ADULT_QI, h.SENSITIVE]
CLOCK_TEXT = {
    "cpu": "CPU time of the process (`time.process_time`: the machine is shared, and CPU "
    "time does not count waiting for a core)",
    "wall": "wall-clock time (`time.perf_counter`)",
}
SYNTHETIC_ROWS = 10_000_000
SECTION = "## Equivalence-class keys (benchmarks/bench_class_keys.py)"
BEGIN, END = "<!-- bench_class_keys: begin -->", "<!-- bench_class_keys: end -->"


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]  # set from --clock


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        started = clock()
        out = fn()
        best = min(best, clock() - started)
    return best, out


def best_pair(
    old: Callable[[], Any], new: Callable[[], Any], repeat: int
) -> tuple[float, Any, float, Any]:
    """Best time of each, old and new alternating, so load from others hits both alike."""
    t_old = t_new = math.inf
    out_old = out_new = None
    for _ in range(repeat):
        seconds, out_old = best_of(old, 1)
        t_old = min(t_old, seconds)
        seconds, out_new = best_of(new, 1)
        t_new = min(t_new, seconds)
    return t_old, out_old, t_new, out_new


# --- part 1: old functions from git, in this process ---------------------------------------


def load_old(ref: str, path: str) -> types.ModuleType:
    """A module of ``ref`` (e.g. ``main:transforms/encode.py``) under a private name."""
    source = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=h.ROOT, capture_output=True, text=True, check=True
    ).stdout
    name = f"_old_{ref}_{Path(path).stem}".replace("-", "_")
    module = types.ModuleType(name)
    module.__file__ = f"{ref}:{path}"
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def skewed_codes(rng: np.random.Generator, n: int, cardinality: int) -> np.ndarray:
    """Codes 0..cardinality-1 with Zipf (a=1) frequencies, code order shuffled."""
    weights = 1.0 / np.arange(1, cardinality + 1)
    cdf = np.cumsum(weights / weights.sum())
    codes = np.minimum(np.searchsorted(cdf, rng.random(n)), cardinality - 1)
    return rng.permutation(cardinality)[codes].astype(np.int64)


def run_part1(rows: Sequence[int], repeat: int, ref: str) -> list[dict]:
    old = types.SimpleNamespace(
        encode=load_old(ref, "transforms/encode.py"),
        privacy=load_old(ref, "transforms/privacy_models.py"),
        utility=load_old(ref, "transforms/utility.py"),
    )
    results = []
    for n in rows:
        for case, cards in CASES.items():
            h.log(f"class keys: {case}, {n:,} rows")
            record = measure_case(case, cards, n, repeat, old)
            h.log(f"  -> {record}")
            results.append(record)
    return results


def measure_case(
    case: str, cards: list[int], n: int, repeat: int, old: types.SimpleNamespace
) -> dict[str, Any]:
    from transforms import class_keys, privacy_models, utility

    rng = np.random.default_rng(20261125)
    codes = [skewed_codes(rng, n, c) for c in cards]
    columns = list(zip(codes, cards, strict=True))
    frame = pd.DataFrame({f"c{j}": c for j, c in enumerate(codes)})
    qi = list(frame.columns)
    observed = [len(pd.unique(c)) for c in codes]
    record: dict[str, Any] = {
        "case": case,
        "rows": n,
        "cardinalities": cards,
        "overflow": math.prod(observed) >= class_keys.KEY_LIMIT,
    }

    def new_tuples() -> tuple[np.ndarray, np.ndarray]:
        classes = class_keys.equivalence_classes(columns, n=n)
        return classes.ids, classes.first_rows

    t_old, before, t_new, after = best_pair(
        lambda: old.encode._combine(columns, n), new_tuples, repeat
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True)), case
    record.update(classes=len(after[1]), tuples_old_s=t_old, tuples_new_s=t_new)

    t_old, before, t_new, after = best_pair(
        lambda: old.privacy.qi_class_ids(frame, qi=qi),
        lambda: privacy_models.qi_class_ids(frame, qi=qi),
        repeat,
    )
    assert np.array_equal(before[0], after[0]) and before[1] == after[1], case
    record.update(qi_class_ids_old_s=t_old, qi_class_ids_new_s=t_new)

    t_old, before, t_new, after = best_pair(
        lambda: old.utility.class_ids(frame, qi=qi),
        lambda: utility.class_ids(frame, qi=qi),
        repeat,
    )
    assert np.array_equal(before, after), case
    record.update(class_ids_old_s=t_old, class_ids_new_s=t_new)

    if math.prod(cards) < class_keys.KEY_LIMIT:
        cuts = np.linspace(0, n, 5).astype(int).tolist()

        def partitioned() -> class_keys.ClassCounts:
            parts = [
                class_keys.ClassCounts.from_codes([(c[a:b], s) for c, s in columns], n=b - a)
                for a, b in itertools.pairwise(cuts)
            ]
            return class_keys.merge_counts(parts)

        t_whole, whole, t_parts, merged = best_pair(
            lambda: class_keys.ClassCounts.from_codes(columns, n=n), partitioned, repeat
        )
        assert np.array_equal(whole.keys, merged.keys), case
        assert np.array_equal(whole.counts, merged.counts), case
        record.update(counts_whole_s=t_whole, counts_merged_s=t_parts)
    return record


# --- part 2: public entry points, old package vs this tree, one process each ----------------


def export_old(ref: str) -> Path:
    """``transforms/`` of ``ref`` as a package folder under benchmarks/work/."""
    target = h.WORK / f"old_{ref}"
    shutil.rmtree(target, ignore_errors=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "transforms"],
        cwd=h.ROOT,
        capture_output=True,
        check=True,
    ).stdout
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def synthetic_path() -> Path:
    return h.WORK / f"class_keys_synthetic_{SYNTHETIC_ROWS}.parquet"


def prepare_synthetic() -> None:
    """Customer-like microdata: a few low-cardinality QIs and three high-cardinality ones."""
    path = synthetic_path()
    if path.exists():
        return
    h.log(f"writing {path.name}")
    rng = np.random.default_rng(7)
    n = SYNTHETIC_ROWS
    frame = pd.DataFrame(
        {
            "sex": pd.Series(np.array(["f", "m"])[skewed_codes(rng, n, 2)], dtype="str"),
            "age": skewed_codes(rng, n, 90),
            "prefecture": skewed_codes(rng, n, 47),
            "zip": skewed_codes(rng, n, 100_000),
            "birth_day": skewed_codes(rng, n, 36_500),
            "income": skewed_codes(rng, n, 1_000_000),
        }
    )
    frame.to_parquet(path, index=False)


def worker(entry: str, repeat: int) -> None:
    import transforms
    from transforms.anonymize import anonymize
    from transforms.encode import encode_table
    from transforms.hierarchy import find_hierarchies
    from transforms.lattice import search
    from transforms.metrics import get_metric
    from transforms.privacy_models import KAnonymity, check_privacy
    from transforms.risk import reidentification_risk

    def adult(scale: int) -> pd.DataFrame:
        return pd.read_parquet(h.data_path(scale, "parquet"))

    answer: Any
    extra: dict[str, float] = {}  # timings of stages besides the measured one
    if entry.startswith("check_k_"):
        if entry == "check_k_synthetic":
            df = pd.read_parquet(synthetic_path())
            qi = list(df.columns)
        else:
            df, qi = adult(int(entry.removeprefix("check_k_x"))), h.ADULT_QI
        seconds, report = best_of(lambda: check_privacy(df, qi=qi, models=[KAnonymity(5)]), repeat)
        answer = {"k": report.k, "classes": report.n_classes}
    elif entry.startswith(("search_x", "anonymize_x")):
        kind, scale = entry.split("_x")
        df = adult(int(scale))
        hierarchies = find_hierarchies(h.ADULT_DIR, columns=ADULT_QI9)
        models = [KAnonymity(5)]
        if kind == "search":
            encode_s, enc = best_of(
                lambda: encode_table(df, qi=ADULT_QI9, hierarchies=hierarchies), repeat
            )
            seconds, result = best_of(
                lambda: search(
                    enc, models=models, suppression_limit=0.04, metric=get_metric("nu-entropy")
                ),
                repeat,
            )
            extra["encode_s"] = round(encode_s, 4)
            answer = {"levels": list(result.levels), "nodes_checked": result.nodes_checked}
        else:
            seconds, result = best_of(
                lambda: anonymize(
                    df,
                    qi=ADULT_QI9,
                    hierarchies=hierarchies,
                    models=models,
                    suppression_limit=0.04,
                ),
                repeat,
            )
            answer = {"levels": result.transformation, "classes": result.classes}
    elif entry.startswith("mondrian_x"):
        df = adult(int(entry.removeprefix("mondrian_x")))
        hierarchies = find_hierarchies(h.ADULT_DIR, columns=h.ADULT_QI)
        seconds, result = best_of(
            lambda: anonymize(
                df,
                qi=h.ADULT_QI,
                hierarchies=hierarchies,
                models=[KAnonymity(5)],
                suppression_limit=0.0,
                method="mondrian",
            ),
            repeat,
        )
        answer = {"classes": result.classes, "min_class": result.min_class_size}
    elif entry.startswith("risk_"):
        name = entry.removeprefix("risk_")
        if name == "synthetic":
            df = pd.read_parquet(synthetic_path())
            qi = list(df.columns)
        else:
            df, qi = adult(int(name.removeprefix("x"))), h.ADULT_QI
        seconds, report = best_of(lambda: reidentification_risk(df, qi=qi), repeat)
        answer = {"sample_uniques": report.sample_uniques, "min_class": report.min_class_size}
    else:
        raise SystemExit(f"unknown entry point {entry!r}")
    h.emit(
        {
            "entry": entry,
            "rows": len(df),
            "seconds": round(seconds, 4),
            "answer": answer,
            **extra,
            "package": str(Path(transforms.__file__).parent),
        }
    )


ENTRIES = {  # entry -> (what, repeat)
    "check_k_x100": ("`check_privacy` k=5, 8 QIs, Adult x100", 3),
    "check_k_synthetic": ("`check_privacy` k=5, 6 QIs, synthetic 10 M rows", 3),
    "search_x1": ("`search` (9 QIs, k=5, 4 %), Adult x1", 3),
    "search_x100": ("`search` (9 QIs, k=5, 4 %), Adult x100", 3),
    "anonymize_x1": ("`anonymize` optimal (9 QIs, k=5, 4 %), Adult x1", 3),
    "mondrian_x10": ("`anonymize` Mondrian (8 QIs, k=5), Adult x10", 3),
    "risk_x100": ("`reidentification_risk`, 8 QIs, Adult x100", 3),
    "risk_synthetic": ("`reidentification_risk`, 6 QIs, synthetic 10 M rows", 3),
}


def run_part2(ref: str, entries: Sequence[str], rounds: int, clock_name: str) -> list[dict]:
    """Old and new processes alternate for ``rounds`` rounds; the best of each is kept."""
    h.prepare_adult([1, 10, 100])
    prepare_synthetic()
    roots = {"old": export_old(ref), "new": h.ROOT}
    results = []
    for entry in entries:
        repeat = ENTRIES[entry][1]
        record: dict[str, Any] = {"entry": entry}
        for _ in range(rounds):
            for version, root in roots.items():
                h.log(f"entry point: {entry} ({version})")
                argv = [sys.executable, str(Path(__file__).resolve()), "worker", entry]
                argv += ["--repeat", str(repeat), "--clock", clock_name]
                out = h.measure(argv, env={"PYTHONPATH": str(root)})
                if "error" not in out:
                    assert out["package"] == str(root / "transforms"), out["package"]
                h.log(f"  -> {out}")
                kept = record.get(version)
                if (
                    kept is None
                    or "error" in kept
                    or out.get("seconds", math.inf) < kept["seconds"]
                ):
                    record[version] = out
        if "error" not in record["old"] and "error" not in record["new"]:
            assert record["old"]["answer"] == record["new"]["answer"], record
        results.append(record)
    return results


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=h.ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def resolve_ref(ref: str | None) -> str:
    """The commit to compare against: ``ref``, or the parent of the commit that added
    ``transforms/class_keys.py`` (the code base just before it, whatever main is now)."""
    if ref is None:
        added = _git("log", "--diff-filter=A", "--format=%H", "--", "transforms/class_keys.py")
        ref = f"{added.splitlines()[-1]}^"  # the first commit that added it
    return _git("rev-parse", "--short", ref)


# --- report ------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _pair(r: dict, name: str) -> str:
    old, new = r.get(f"{name}_old_s"), r.get(f"{name}_new_s")
    if old is None or new is None:
        return "–"
    return f"{old:.3f} / {new:.3f} ({old / new:.1f}x)"


def render(part1: list[dict], part2: list[dict], ref: str, repeat: int, clock_name: str) -> str:
    machine = h.machine()
    lines = [
        SECTION,
        "",
        f"Old = `{ref}` (main before `transforms/class_keys.py`: five implementations), new = "
        f"`{resolve_ref('HEAD')}` (this branch). Machine: nproc {machine['nproc']}, "
        f"{machine['cpu']}, Python {machine['python']}, numpy {machine['numpy']}, "
        f"pandas {machine['pandas']}. Seconds are {CLOCK_TEXT[clock_name]}, best of {repeat}, "
        "old and new alternating. Identical outputs old vs new were asserted for every row "
        "below.",
        "",
        "Helpers on int64 code columns (Zipf-skewed), seconds old / new (speed-up). *tuples*: "
        "`encode._combine` (same loop as `mondrian._distinct_tuples` and `evaluate_node`) vs "
        "`equivalence_classes` ids + first rows; the frame functions factorize each column "
        "first. *counts*: `ClassCounts.from_codes` whole / 4 partitions merged.",
        "",
        "| rows | columns (cardinalities) | overflow | classes | tuples | `qi_class_ids` "
        "| `utility.class_ids` | counts whole / merged |",
        "|---:|---|---|---:|---|---|---|---|",
    ]
    for r in part1:
        counts = (
            f"{r['counts_whole_s']:.3f} / {r['counts_merged_s']:.3f}"
            if "counts_whole_s" in r
            else "not mergeable"
        )
        lines.append(
            f"| {r['rows']:,} | {r['case']}: {r['cardinalities']} | "
            f"{'yes' if r['overflow'] else 'no'} | {r['classes']:,} | {_pair(r, 'tuples')} | "
            f"{_pair(r, 'qi_class_ids')} | {_pair(r, 'class_ids')} | {counts} |"
        )
    lines += [
        "",
        "Public entry points, one process each, seconds (the same answer asserted):",
        "",
        "| entry point | rows | old s | new s | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in part2:
        old, new = r["old"], r["new"]
        what = ENTRIES[r["entry"]][0]
        if "error" in old or "error" in new:
            lines.append(f"| {what} | – | {old.get('error', '')} | {new.get('error', '')} | – |")
            continue
        extra = ""
        if "encode_s" in old:
            extra = f"; `encode_table` {old['encode_s']:.3f} / {new['encode_s']:.3f} s"
        lines.append(
            f"| {what}{extra} | {old['rows']:,} | {old['seconds']:.3f} | {new['seconds']:.3f} "
            f"| {old['seconds'] / new['seconds']:.2f}x |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("entry", choices=sorted(ENTRIES))
    w.add_argument("--repeat", type=int, default=3)
    w.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    r = sub.add_parser("run")
    r.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    r.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    r.add_argument("--repeat", type=int, default=3)
    r.add_argument("--old-ref", default=None, help="default: just before class_keys.py")
    r.add_argument("--entries", nargs="*", default=list(ENTRIES), choices=sorted(ENTRIES))
    r.add_argument("--rounds", type=int, default=2, help="old/new process pairs per entry")
    r.add_argument("--write", type=Path, default=None, help="put the section into this file")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    if args.cmd == "worker":
        worker(args.entry, args.repeat)
        return
    ref = resolve_ref(args.old_ref)
    part1 = run_part1(args.rows, args.repeat, ref) if args.rows else []
    part2 = run_part2(ref, args.entries, args.rounds, args.clock) if args.entries else []
    h.save(
        "class_keys",
        {"part1": part1, "part2": part2, "machine": h.machine(), "clock": args.clock},
    )
    text = render(part1, part2, ref, args.repeat, args.clock)
    print(text)
    if args.write:
        h.write_section(args.write, text, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
