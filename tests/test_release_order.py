"""Row order carries nothing: released bytes depend on the released values only.

The attack this guards against: rows written in the order of a hidden value (the original age
or postal prefix before generalization) give that value back by position. The tests permute
the hidden values among records that look identical once released and show that the released
bytes do not move, and that the gate fails closed on a file in any other order.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.release.datasets import MICRODATA, candidate_list
from pipeline.release.gate import CandidateDataset, evaluate_release
from pipeline.run.context import RunContext
from pipeline.run.step_reports import AnonymizeReport, DeidentifyReport, SeriesProfile
from pipeline.settings.partners import PartnerRegistry
from pipeline.settings.release_config import load_config
from pipeline.sources.hierarchies import shipped_hierarchies as hierarchies
from pipeline.steps.anonymize import anonymize
from pipeline.steps.build_tables import build_tables
from transforms.release_order import UnorderedLabelError, canonical_order, is_canonical

RUN_DATE = date(2026, 11, 24)
SERIES = f"{MICRODATA}@monthly"
COURSES = ["body", "bridal", "eyelash", "facial", "hair_removal", "nail"]


def _customers(n: int, seed: int) -> pd.DataFrame:
    """De-identified customers as the deidentify step writes them (80 postal prefixes)."""
    rng = np.random.default_rng(seed)
    prefixes = rng.choice(list(hierarchies(("postal_code",))["postal_code"].leaves), 80)
    return pd.DataFrame(
        {
            "pseudonym": [f"p{i:05d}" for i in range(n)],
            "age": rng.integers(18, 80, n),
            "gender": rng.choice(["F", "M"], n, p=[0.8, 0.2]),
            "postal_code": rng.choice(prefixes, n),
            # A customer without a visit has the main course "none" (it broke the demo once).
            "main_course": np.where(np.arange(n) % 500 == 0, "none", rng.choice(COURSES, n)),
        }
    )


def _context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunContext:
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)  # the cell key tables' record keys
    ctx = RunContext(run_date=RUN_DATE, config=load_config())
    ctx.reset()
    return ctx


def _released_bytes(ctx: RunContext, customers: pd.DataFrame) -> bytes:
    """Run anonymize and build_tables on ``customers`` as the monthly series' profile."""
    customers.to_parquet(ctx.zone("deidentified") / "customers_monthly.parquet", index=False)
    # The tables' profile carries each customer's consent flags (here: everyone consented).
    customers.assign(consent_partner_marketing=True).to_parquet(
        ctx.zone("deidentified") / "customers.parquet", index=False
    )
    cutoff = SeriesProfile(
        cutoff="2026-10-31",
        reference_date="2026-10-31",
        customers=len(customers),
        outside_hierarchies=0,
    )
    ctx.write_report(
        DeidentifyReport(
            rows={"customers": len(customers)},
            quarantined_outside_hierarchies={},
            web_page_views=0,
            age_reference="2026-01-01",
            series={"monthly": cutoff},
        )
    )
    anonymize(ctx)
    visited = customers[customers["main_course"] != "none"]
    usage = visited[["pseudonym"]].assign(
        course_category=visited["main_course"],
        visit_date=pd.Timestamp("2026-05-01"),
        store_id=1,
        amount_yen=5000,
    )
    usage.to_parquet(ctx.zone("deidentified") / "usage.parquet", index=False)
    _empty_activity(ctx)
    build_tables(ctx)
    return (ctx.run_dir / "candidates" / f"{SERIES}.csv").read_bytes()


def _empty_activity(ctx: RunContext) -> None:
    """The other de-identified tables the report catalogue reads, empty, and one store."""
    frames = {
        "questionnaires": ["pseudonym", "answered_on", "satisfaction_overall", "channel"],
        "campaigns": ["pseudonym", "campaign_code", "applied_on", "channel"],
        "subscriptions": ["pseudonym", "list_name", "subscribed_on", "unsubscribed_on"],
    }
    for name, columns in frames.items():
        frame = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
        for c in columns:
            if c.endswith("_on"):
                frame[c] = pd.Series(dtype="datetime64[ms]")
            if c.startswith("satisfaction"):
                frame[c] = pd.Series(dtype="int64")
        frame.to_parquet(ctx.zone("deidentified") / f"{name}.parquet", index=False)
    pd.DataFrame({"store_id": [1], "prefecture": ["東京都"]}).to_parquet(
        ctx.zone("clean") / "stores.parquet", index=False
    )


def _transformation(ctx: RunContext) -> dict[str, int]:
    report = ctx.read_report(AnonymizeReport)
    assert report is not None
    return dict(report.released()["monthly"].transformation)


def _swap_hidden(customers: pd.DataFrame, transformation: dict, seed: int) -> pd.DataFrame:
    """Swap each generalized column's exact values among customers of one released class.

    Every customer keeps their released row; what an attacker cannot see (who has which
    exact age, which exact postal prefix) is reshuffled, each column on its own.
    """
    rng = np.random.default_rng(seed)
    trees = hierarchies(tuple(transformation))
    labels = pd.DataFrame(
        {
            c: trees[c].generalize(customers[c].astype("str"), level=lvl)
            for c, lvl in transformation.items()
        }
    ).assign(main_course=customers["main_course"])
    out = customers.copy()
    for _, members in labels.groupby(list(labels.columns), sort=False).groups.items():
        rows = np.asarray(members)
        for column, level in transformation.items():
            if level > 0 and len(rows) > 1:
                out.loc[rows, column] = customers.loc[rng.permutation(rows), column].to_numpy()
    return out


def test_released_bytes_do_not_depend_on_hidden_values(tmp_path, monkeypatch) -> None:
    """Swapping exact ages and postal prefixes among customers who share a released row, and
    shuffling the source order, leaves the released microdata byte for byte the same (before
    the fix, rows followed the exact values and the bytes moved)."""
    ctx = _context(tmp_path, monkeypatch)
    customers = _customers(3000, seed=1)
    first = _released_bytes(ctx, customers)
    transformation = _transformation(ctx)
    assert transformation["age"] > 0 and transformation["postal_code"] > 0
    for seed in (2, 3):
        resampled = _swap_hidden(customers, transformation, seed)
        assert not resampled["age"].equals(customers["age"])
        shuffled = resampled.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        released = _released_bytes(ctx, shuffled)
        assert _transformation(ctx) == transformation
        assert released == first


def _candidates(ctx: RunContext) -> list[CandidateDataset]:
    return candidate_list(
        ctx.run_dir / "candidates",
        profile=ctx.config.profile,
        series={"monthly": _transformation(ctx)},
    )


def test_gate_fails_closed_on_a_file_not_in_canonical_order(tmp_path, monkeypatch) -> None:
    ctx = _context(tmp_path, monkeypatch)
    _released_bytes(ctx, _customers(3000, seed=4))
    candidates = _candidates(ctx)
    micro = next(c for c in candidates if c.name == SERIES)
    text = micro.path.read_text().splitlines()
    header, rows = text[0], text[1:]
    assert rows != sorted(rows, reverse=True)
    micro.path.write_text("\n".join([header, *sorted(rows, reverse=True)]) + "\n")
    decision = evaluate_release(
        [micro], profile=ctx.config.profile, partners=PartnerRegistry(recipients=())
    )
    assert any("not in canonical order" in r for r in decision.profile_failures)


def test_gate_passes_the_pipeline_candidates(tmp_path, monkeypatch) -> None:
    ctx = _context(tmp_path, monkeypatch)
    _released_bytes(ctx, _customers(3000, seed=5))
    decision = evaluate_release(
        _candidates(ctx),
        profile=ctx.config.profile,
        partners=PartnerRegistry(recipients=()),
    )
    assert not [r for r in decision.profile_failures if "canonical" in r]


def test_microdata_without_a_recorded_transformation_is_checked_as_text(tmp_path) -> None:
    """A candidate with no label orders is held to the plain text order, never skipped."""
    path = tmp_path / "m.csv"
    pd.DataFrame({"age": ["9", "10"], "gender": ["F", "F"]}).to_csv(path, index=False)
    candidate = CandidateDataset(name="m", path=path, kind="microdata", qi=("age", "gender"))
    profile = load_config().profile.model_copy(
        update={"quasi_identifiers": ("age", "gender"), "k": 2, "l": None, "sensitive": None}
    )
    decision = evaluate_release(
        [candidate], profile=profile, partners=PartnerRegistry(recipients=())
    )
    assert any("canonical" in r for r in decision.profile_failures)


rows = st.lists(
    st.tuples(st.sampled_from(["0-4", "5-9", "10-14", "*"]), st.sampled_from(["F", "M", "X"])),
    max_size=40,
)


@given(rows=rows, seed=st.integers(0, 2**32 - 1))
def test_canonical_order_is_a_function_of_the_multiset_of_rows(rows, seed) -> None:
    orders = {"age": ["0-4", "5-9", "10-14", "*"]}
    df = pd.DataFrame(rows, columns=["age", "gender"], dtype="str")
    shuffled = df.sample(frac=1.0, random_state=seed % 2**32)
    a = canonical_order(df, label_orders=orders)
    b = canonical_order(shuffled, label_orders=orders)
    assert a.equals(b)
    assert is_canonical(a, label_orders=orders)
    ages = a["age"].map(orders["age"].index).tolist()
    assert ages == sorted(ages)


def test_a_label_outside_its_order_is_refused() -> None:
    df = pd.DataFrame({"age": ["0-4", "99"]})
    with pytest.raises(UnorderedLabelError, match="'age': 1 row"):
        canonical_order(df, label_orders={"age": ["0-4"]})
    assert not is_canonical(df, label_orders={"age": ["0-4"]})
