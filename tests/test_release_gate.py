"""The release gate: strictest requirement per recipient; a profile failure blocks everyone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.release.gate import (
    PROFILE_FAILED,
    CandidateDataset,
    evaluate_release,
)
from pipeline.settings.partners import PartnerRegistry, Recipient
from pipeline.settings.release_config import PrivacyProfile
from transforms.release_order import canonical_order

PROFILE = PrivacyProfile(
    quasi_identifiers=("age", "gender"),
    sensitive="course",
    k=10,
    l=2,
    suppression_limit=0.05,
    min_cell_count=10,
)
MICRO, TABLE = "customers_microdata", "customers_table"


def _recipient(rid: str, **kw: object) -> Recipient:
    base = {
        "name": rid,
        "kind": "cooperative_business",
        "agreement": f"AG-{rid}",
        "valid_from": "2025-01-01",
        "valid_until": "2030-12-31",
        "purposes": ["analysis"],
        "min_k": 10,
        "min_cell_count": 10,
    }
    return Recipient(id=rid, **{**base, **kw})  # type: ignore[arg-type]


PARTNERS = PartnerRegistry(
    recipients=(
        _recipient("partner-k10", allowed_datasets=(MICRO, TABLE)),
        _recipient("partner-k20", min_k=20, allowed_datasets=(MICRO, TABLE)),
        _recipient("partner-l3", min_l=3, allowed_datasets=(MICRO,)),
        _recipient(
            "sponsor-c20", kind="advertising_sponsor", min_cell_count=20, allowed_datasets=(TABLE,)
        ),
        _recipient("sponsor-c10", kind="advertising_sponsor", allowed_datasets=(TABLE,)),
    )
)


def _microdata(class_size: int, *, star_rows: int = 0) -> pd.DataFrame:
    """Three classes of ``class_size``; ``star_rows`` rows generalized to ``*`` on every QI
    (released records: the pipeline removes suppressed ones before the gate)."""
    rows = []
    for age, gender in [("20-29", "F"), ("30-39", "M"), ("40-49", "F")]:
        courses = ["facial", "body"] * class_size
        rows += [(age, gender, c) for c in courses[:class_size]]
    rows += [("*", "*", ["nail", "body"][i % 2]) for i in range(star_rows)]
    return pd.DataFrame(rows, columns=["age", "gender", "course"])


def _table(counts: list[int | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": [f"R{i}" for i in range(len(counts))],
            "customers": pd.array(counts, dtype="Int64"),
            "suppressed": [c is None for c in counts],
        }
    )


def _candidates(tmp_path: Path, micro: pd.DataFrame, table: pd.DataFrame) -> list:
    micro_path = tmp_path / f"{MICRO}.csv"
    # The pipeline writes candidates in canonical order (the gate refuses any other).
    canonical_order(micro).to_csv(micro_path, index=False)
    table_path = tmp_path / f"{TABLE}.parquet"
    table.to_parquet(table_path, index=False)
    return [
        CandidateDataset(MICRO, micro_path, "microdata", qi=("age", "gender"), sensitive="course"),
        CandidateDataset(TABLE, table_path, "table", count_column="customers"),
    ]


def test_recipient_below_its_minimum_is_blocked_others_pass(tmp_path: Path) -> None:
    candidates = _candidates(tmp_path, _microdata(12), _table([15, None, 40, 12]))
    docs = tmp_path / "docs"
    decision = evaluate_release(candidates, profile=PROFILE, partners=PARTNERS, docs_dir=docs)
    assert decision.profile_failures == ()
    assert decision.allowed == {
        "partner-k10": (MICRO, TABLE),
        "sponsor-c10": (TABLE,),
    }
    assert set(decision.blocked) == {"partner-k20", "partner-l3", "sponsor-c20"}
    (k20,) = decision.blocked["partner-k20"]  # its table passes (min 10); its microdata does not
    assert "k=20" in k20 and "expect_table_to_be_k_anonymous" in k20 and "smallest class 12" in k20
    assert any("expect_table_to_be_l_diverse" in r for r in decision.blocked["partner-l3"])
    assert "min_cell_count=20" in decision.blocked["sponsor-c20"][0]
    assert decision.docs_index is not None and decision.docs_index.exists()
    report = json.loads(json.dumps(decision.to_json()))
    assert report["allowed"]["partner-k10"] == [MICRO, TABLE]
    assert report["profile_failures"] == []
    # each (dataset, requirement) is validated once, however many recipients share it
    pairs = [(c["dataset"], c["requirement"]) for c in report["checks"]]
    assert len(pairs) == len(set(pairs))


def test_profile_failure_blocks_everyone(tmp_path: Path) -> None:
    candidates = _candidates(tmp_path, _microdata(5), _table([15, 40]))
    decision = evaluate_release(candidates, profile=PROFILE, partners=PARTNERS)
    assert decision.profile_failures
    assert "k=10" in decision.profile_failures[0]
    assert decision.allowed == {}
    assert set(decision.blocked) == set(PARTNERS.ids())
    assert all(r == (PROFILE_FAILED,) for r in decision.blocked.values())
    assert decision.docs_index is None


def test_rows_generalized_to_star_are_checked_not_skipped(tmp_path: Path) -> None:
    # L1: one all-"*" row is a released class of 1, not a suppressed record
    candidates = _candidates(tmp_path, _microdata(12, star_rows=1), _table([15, 40]))
    decision = evaluate_release(candidates, profile=PROFILE, partners=PARTNERS)
    assert decision.allowed == {}
    assert any(
        f.startswith(MICRO) and "expect_table_to_be_k_anonymous" in f and "smallest class 1" in f
        for f in decision.profile_failures
    )
    # a "*" class as large as k passes: it is one class among the others
    candidates = _candidates(tmp_path, _microdata(12, star_rows=10), _table([15, 40]))
    decision = evaluate_release(candidates, profile=PROFILE, partners=PARTNERS)
    assert decision.profile_failures == ()
    assert decision.allowed["partner-k10"] == (MICRO, TABLE)
    assert "smallest class 10" in decision.blocked["partner-k20"][0]


@pytest.mark.parametrize("problem", ["identifier", "empty", "missing_file", "missing_column"])
def test_unsafe_or_broken_candidates_are_profile_failures(tmp_path: Path, problem: str) -> None:
    micro = _microdata(12)
    table = _table([15, 40])
    if problem == "identifier":
        table["note"] = ["ok", "call 090-1234-5678"]
    if problem == "empty":
        table = table.iloc[:0]
    candidates = _candidates(tmp_path, micro, table)
    if problem == "missing_file":
        candidates[1].path.unlink()
    if problem == "missing_column":
        candidates[1] = CandidateDataset(TABLE, candidates[1].path, "table", count_column="n")
    decision = evaluate_release(candidates, profile=PROFILE, partners=PARTNERS)
    assert decision.allowed == {}
    (failure,) = decision.profile_failures
    assert failure.startswith(TABLE)
    expected = {
        "identifier": "expect_columns_to_contain_no_direct_identifiers on note",
        "empty": "0 rows",
        "missing_file": "file not found",
        "missing_column": "column 'n'",
    }[problem]
    assert expected in failure
    assert "090-1234-5678" not in json.dumps(decision.to_json())
