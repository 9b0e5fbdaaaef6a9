"""l-diversity and t-closeness with suppression on a large sensitive domain (issue 13, item 3).

The case is ``benchmarks/large_domain.py``'s seeded recipe: Adult's 8 QIs (6,480-node
lattice) and a ``diagnosis`` column of 1,243 distinct values under a 5-level hierarchy;
k = 5 with hierarchical 0.2-closeness, and k = 5 with recursive (4, 5)-diversity, 5 %
suppression, monotonic non-uniform entropy. Each run encodes the table and searches (ARX's
``anonymize`` also encodes its data); every run's time is printed, and the search alone
(median). ARX 3.9 (built from arx-deidentifier/arx, ``LargeDomain.java`` in the
results' notes) is timed separately on the same CSVs, never at the same time.

    python benchmarks/bench_large_domain.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from large_domain import QI, SENSITIVE, diagnosis_hierarchy, large_domain_table  # noqa: E402

from transforms.encode import encode_table  # noqa: E402
from transforms.hierarchy import find_hierarchies  # noqa: E402
from transforms.lattice import search  # noqa: E402
from transforms.metrics import get_metric  # noqa: E402
from transforms.privacy_models import (  # noqa: E402
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)


def cases() -> list[tuple[str, list[PrivacyModel]]]:
    tree = diagnosis_hierarchy()
    return [
        (
            "k=5 + hierarchical 0.2-closeness",
            [KAnonymity(5), TCloseness(SENSITIVE, 0.2, "hierarchical", tree)],
        ),
        (
            "k=5 + recursive (4, 5)-diversity",
            [KAnonymity(5), RecursiveCLDiversity(SENSITIVE, 4, 5)],
        ),
        ("k=5 + distinct 5-diversity", [KAnonymity(5), DistinctLDiversity(SENSITIVE, 5)]),
        ("k=5 + entropy 5-diversity", [KAnonymity(5), EntropyLDiversity(SENSITIVE, 5)]),
        ("k=5 + equal 0.2-closeness", [KAnonymity(5), TCloseness(SENSITIVE, 0.2)]),
        ("k=5 + ordered 0.2-closeness", [KAnonymity(5), TCloseness(SENSITIVE, 0.2, "ordered")]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    df = large_domain_table()
    hierarchies = find_hierarchies(ROOT / "tests" / "fixtures" / "adult", columns=QI)
    print(f"{len(df):,} rows, {df[SENSITIVE].nunique():,} distinct {SENSITIVE} values")
    print(
        "| models, 5 % | encode + search (s) | search (s) | nodes checked | lattice | optimum "
        "| loss |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for label, models in cases():
        if args.only and args.only not in label:
            continue
        whole, searching = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            # like ARX's anonymize(data, config): encoding the table is part of the work
            enc = encode_table(df, qi=QI, hierarchies=hierarchies, sensitive=[SENSITIVE])
            encoded = time.perf_counter()
            result = search(
                enc, models=models, suppression_limit=0.05, metric=get_metric("nu-entropy")
            )
            finished = time.perf_counter()
            whole.append(finished - started)
            searching.append(finished - encoded)
        levels = "none" if result.levels is None else list(result.levels)
        print(
            f"| {label} | {' / '.join(f'{t:.2f}' for t in whole)} | "
            f"{statistics.median(searching):.2f} | {result.nodes_checked} | "
            f"{result.lattice_size} | {levels} | {result.loss:,.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
