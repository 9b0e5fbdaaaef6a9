"""Purpose-bound consent and the nightly answers to disclosure requests (issue #12)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from pipeline.demo import DEMO_DATE
from pipeline.demo.generator import generate_demo_database
from pipeline.release.publish import verify_release
from pipeline.release.purposes import (
    UnknownRecipientKindError,
    check_kinds,
    dataset_purposes,
    population_mask,
    recipient_purposes,
)
from pipeline.run.audit import read_events
from pipeline.settings.partners import Recipient, RecipientKind, load_partners
from pipeline.settings.release_config import ConfigError, ConsentPolicy, load_config
from pipeline.steps.anonymize import UNIT
from transforms.customer_requests import consent_flags

RUN = DEMO_DATE.isoformat()
KEY_HEX = "5a" * 32
REPO = Path(__file__).resolve().parents[1]


def _consents(rows: list[tuple[int, int, str, object, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["consent_id", "customer_id", "purpose", "granted", "at"])
    return frame.assign(
        granted=frame["granted"].astype("boolean"),
        recorded_at=pd.to_datetime(frame.pop("at"), utc=True),
    )


def test_the_latest_consent_of_each_purpose_decides_and_unreadable_fails_closed() -> None:
    consents = _consents(
        [
            (1, 1, "partner_marketing", True, "2024-01-01T00:00:00Z"),
            (2, 1, "partner_marketing", False, "2025-01-01T00:00:00Z"),  # withdrawn: out
            (3, 2, "partner_marketing", False, "2024-01-01T00:00:00Z"),
            (4, 2, "partner_marketing", True, "2025-01-01T00:00:00Z"),  # granted again: in
            (5, 3, "statistics", False, "2025-01-01T00:00:00Z"),  # another purpose only
            (6, 4, "partner_marketing", None, "2025-01-01T00:00:00Z"),  # unreadable: out
            (7, 5, "partner_marketing", True, "2025-01-01T00:00:00Z"),
            (8, 5, "partner_marketing", False, "2025-01-01T00:00:00Z"),  # tie: higher id wins
        ]
    )
    ids = pd.Series([1, 2, 3, 4, 5])
    opt_out = consent_flags(
        ids,
        consents=consents,
        purposes=["partner_marketing"],
        granted_without_record=["partner_marketing"],
    )
    assert opt_out["consent_partner_marketing"].tolist() == [False, True, True, False, False]
    opt_in = consent_flags(ids, consents=consents, purposes=["partner_marketing"])
    # Without a record nobody is granted when the purpose needs an explicit grant.
    assert opt_in["consent_partner_marketing"].tolist() == [False, True, False, False, False]
    assert opt_in["customer_id"].tolist() == [1, 2, 3, 4, 5]


def test_third_party_kinds_naming_different_purposes_are_refused_at_load(tmp_path: Path) -> None:
    shipped = yaml.safe_load((REPO / "data" / "config" / "release.yaml").read_text())
    shipped["consent"]["purposes"]["contractor"] = "statistics"
    path = tmp_path / "release.yaml"
    path.write_text(yaml.safe_dump(shipped))
    with pytest.raises(ConfigError, match="third-party kinds name different purposes"):
        load_config(path)
    shipped["consent"]["purposes"]["contractor"] = "mail_magazine"
    path.write_text(yaml.safe_dump(shipped))
    with pytest.raises(ConfigError, match=r"consent: .*purposes\.contractor"):
        load_config(path)
    # The internal kind may serve statistics while partners serve partner_marketing.
    assert load_config().consent.purpose_for("internal") == "statistics"


def _recipient(kind: RecipientKind, rid: str = "r") -> Recipient:
    return Recipient(
        id=rid,
        name=rid,
        kind=kind,
        agreement="AG-TEST",
        valid_from=date(2025, 1, 1),
        valid_until=date(2027, 12, 31),
        purposes=("market_analysis",),
        min_k=2,
        min_cell_count=1,
        allowed_datasets=("x",),
    )


def test_a_dataset_is_built_from_the_population_all_its_recipients_consented_to() -> None:
    policy = ConsentPolicy()
    internal, partner = _recipient("internal"), _recipient("cooperative_business")
    assert recipient_purposes(internal, policy) == ("statistics",)
    assert dataset_purposes([internal], policy) == ("statistics",)
    assert dataset_purposes([internal, partner], policy) == ("partner_marketing", "statistics")
    customers = pd.DataFrame({"consent_partner_marketing": [True, False, True]})
    assert population_mask(customers, ("statistics",)).tolist() == [True, True, True]
    assert population_mask(customers, dataset_purposes([partner], policy)).tolist() == [
        True,
        False,
        True,
    ]
    # A kind the policy names no purpose for is refused, never treated as statistics alone.
    partial = ConsentPolicy(purposes={"internal": "statistics"})
    with pytest.raises(UnknownRecipientKindError, match="no purpose for recipient kind"):
        recipient_purposes(partner, partial)
    with pytest.raises(UnknownRecipientKindError, match="cooperative_business"):
        dataset_purposes([internal, partner], partial)
    check_kinds(load_partners(), policy)  # the shipped registry's kinds all have a purpose


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all

    root = tmp_path_factory.mktemp("consent")
    source = root / "source.sqlite"
    generate_demo_database(
        f"sqlite:///{source}", customers=1500, seed=5, as_of=DEMO_DATE, dirty_rate=0.0
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{source}")
        mp.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
        mp.setenv("ANONRELEASE_RELEASE_ROOT", str(root / "releases"))
        mp.setenv("ANONRELEASE_HMAC_KEY", KEY_HEX)
        run_all(RunContext(run_date=DEMO_DATE, config=load_config()))
    yield source, root / "warehouse", root / "releases"


def _query(source: Path, sql: str) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    engine.dispose()
    return rows


def test_withdrawn_partner_consent_leaves_partner_datasets_only(night) -> None:
    _, workdir, releases = night
    run = workdir / RUN
    customers = pd.read_parquet(run / "deidentified" / "customers.parquet")
    withdrawn = set(customers.loc[~customers["consent_partner_marketing"], "pseudonym"])
    assert withdrawn, "the demo data has withdrawn partner consents"
    # Internal statistics (the de-identified zone) keep them ...
    assert withdrawn <= set(customers["pseudonym"])
    # ... the partners' microdata does not,
    for series in sorted((run / "anonymized").glob("customers_microdata_*.parquet")):
        assert not withdrawn & set(pd.read_parquet(series)[UNIT])
    # and the partners' visits table counts only the consenting customers' visits (its grand
    # total, exact: suppression withholds cells, it never changes the internal copy).
    usage = pd.read_parquet(run / "deidentified" / "usage.parquet")
    table = pd.read_parquet(run / "anonymized" / "visits_by_course_quarter_area.parquet")
    day = usage["visit_date"]
    usage = usage.assign(quarter=day.dt.year.astype(str) + "-Q" + day.dt.quarter.astype(str))
    in_window = usage[usage["quarter"].isin(set(table["quarter"]) - {"TOTAL"})]
    consenting = in_window[~in_window["pseudonym"].isin(withdrawn)]
    total = table[(table[["course", "quarter", "store_area"]] == "TOTAL").all(axis=1)]
    (visits,) = total["value"].tolist()
    (contributors,) = total["contributors"].tolist()
    assert (visits, contributors) == (len(consenting), consenting["pseudonym"].nunique())
    assert visits < len(in_window) and withdrawn & set(in_window["pseudonym"])
    # The report catalogue's tables too: each is built from its recipients' population
    # (activity rows join to those customers), and its purposes are recorded.
    built = json.loads((run / "reports" / "build_tables.json").read_text())
    assert built["reports"], "the demo publishes the catalogue"
    for name in built["reports"]:
        assert built["purposes"][name] == ["partner_marketing", "statistics"]
    stock = built["reports"]["customers_by_region_age_gender"]
    assert stock["records"] == len(customers) - len(withdrawn)
    for folder in sorted(releases.glob(f"*/{RUN}")):
        manifest = verify_release(str(folder))
        assert manifest["purposes"] == ["partner_marketing", "statistics"]
        for parameters in manifest["datasets"].values():
            assert parameters["purposes"] == ["partner_marketing", "statistics"]


def test_pending_disclosure_requests_are_answered_owner_only_and_counted(night) -> None:
    source, workdir, _ = night
    pending = _query(
        source,
        "SELECT request_id, customer_id FROM customer_requests "
        "WHERE request_type = 'disclosure' AND status = 'pending' ORDER BY request_id",
    )
    assert pending
    folder = workdir / RUN / "disclosures"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == sorted(f"request-{r}.json" for r, _ in pending)
    for request_id, customer_id in pending:
        path = folder / f"request-{request_id}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        answer = json.loads(path.read_text(encoding="utf-8"))
        assert answer["customer_id"] == customer_id
        assert len(answer["records"]["customers"]) == 1
        visits = _query(
            source, f"SELECT COUNT(*) FROM service_usage WHERE customer_id = {customer_id}"
        )
        assert len(answer["records"]["service_usage"]) == visits[0][0]
        for rows in answer["records"].values():
            assert {str(r["customer_id"]) for r in rows} <= {str(customer_id)}
    report = json.loads((workdir / RUN / "reports" / "apply_customer_requests.json").read_text())
    assert report["disclosures"] == {
        "answered": len(pending),
        "unknown_customer": 0,
        "unreadable": 0,
    }
    events = [e for e in read_events(workdir, run_id=RUN) if e["event"] == "request.disclosure"]
    assert len(events) == len(pending)
    text = json.dumps(events)
    for _, customer_id in pending:
        name = _query(source, f"SELECT phone FROM customers WHERE customer_id = {customer_id}")
        assert name[0][0] not in text  # counts and hashes only, never a value
