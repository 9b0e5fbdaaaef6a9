"""The demo operational database: the schema contract, determinism, realism, dirty rows."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.demo import DEMO_DATE
from pipeline.demo.generator import (
    DemoDataParameterError,
    generate_demo_database,
    generate_demo_tables,
    write_tables,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
AS_OF = DEMO_DATE

# The contract of /work/notes/schema.md, written out independently of the code under test.
SCHEMA = {
    "stores": ["store_id", "store_name", "prefecture", "city", "opened_on"],
    "customers": [
        "customer_id",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "gender",
        "birth_date",
        "postal_code",
        "prefecture",
        "city",
        "street_address",
        "phone",
        "email",
        "registered_on",
        "home_store_id",
    ],
    "service_usage": [
        "usage_id",
        "customer_id",
        "store_id",
        "visit_date",
        "course_category",
        "amount_yen",
    ],
    "questionnaire_responses": [
        "response_id",
        "customer_id",
        "answered_on",
        "satisfaction_overall",
        "satisfaction_staff",
        "satisfaction_cleanliness",
        "satisfaction_value",
        "channel",
        "comment",
    ],
    "campaign_applications": [
        "application_id",
        "customer_id",
        "campaign_code",
        "applied_on",
        "channel",
    ],
    "mail_subscriptions": [
        "subscription_id",
        "customer_id",
        "list_name",
        "email",
        "subscribed_on",
        "unsubscribed_on",
    ],
    "consents": [
        "consent_id",
        "customer_id",
        "purpose",
        "granted",
        "policy_version",
        "recorded_at",
    ],
    "customer_requests": [
        "request_id",
        "customer_id",
        "request_type",
        "requested_on",
        "field",
        "new_value",
        "status",
    ],
    "web_access_log": ["log_id", "accessed_at", "path", "client_hash", "user_agent"],
}
SATISFACTION = [c for c in SCHEMA["questionnaire_responses"] if c.startswith("satisfaction")]
DATE_COLUMNS = {
    "stores": ["opened_on"],
    "customers": ["birth_date", "registered_on"],
    "service_usage": ["visit_date"],
    "questionnaire_responses": ["answered_on"],
    "campaign_applications": ["applied_on"],
    "mail_subscriptions": ["subscribed_on", "unsubscribed_on"],
    "customer_requests": ["requested_on"],
}
PHONE = re.compile(r"0\d{1,3}-\d{2,4}-\d{4}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
POSTAL = re.compile(r"\d{3}-\d{4}")


def _frames(tables: dict[str, dict[str, np.ndarray]]) -> dict[str, pd.DataFrame]:
    return {
        name: pd.DataFrame({c: v.tolist() for c, v in cols.items()})
        for name, cols in tables.items()
    }


@pytest.fixture(scope="module")
def clean() -> dict[str, pd.DataFrame]:
    return _frames(generate_demo_tables(customers=2_000, seed=7, as_of=AS_OF, dirty_rate=0.0))


@pytest.fixture(scope="module")
def dirty() -> dict[str, pd.DataFrame]:
    return _frames(generate_demo_tables(customers=2_000, seed=7, as_of=AS_OF, dirty_rate=0.05))


@pytest.fixture(scope="module")
def prefix_to_prefecture() -> dict[str, str]:
    with (REFERENCE / "jp_prefectures.csv").open(encoding="utf-8") as f:
        names = {r["code"]: r["prefecture_ja"] for r in csv.DictReader(f)}
    with (REFERENCE / "jp_postal_prefixes.csv").open(encoding="utf-8") as f:
        return {r["postal_prefix"]: names[r["prefecture_code"]] for r in csv.DictReader(f)}


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")


# ---------------------------------------------------------------- schema and database


def test_database_has_exactly_the_contract_tables_and_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    counts = generate_demo_database(url, customers=300, seed=1, as_of=AS_OF, dirty_rate=0.01)
    inspector = sa.inspect(sa.create_engine(url))
    assert sorted(inspector.get_table_names()) == sorted(SCHEMA)
    for table, columns in SCHEMA.items():
        assert [c["name"] for c in inspector.get_columns(table)] == columns, table
        assert inspector.get_pk_constraint(table)["constrained_columns"] == [columns[0]]
    assert counts["customers"] == 300
    assert counts["stores"] == 60
    with sa.create_engine(url).connect() as conn:
        for table in SCHEMA:
            assert conn.execute(sa.text(f"select count(*) from {table}")).scalar() == counts[table]


def test_rerun_replaces_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'source.sqlite'}"
    generate_demo_database(url, customers=400, seed=1, as_of=AS_OF, dirty_rate=0.0)
    counts = generate_demo_database(url, customers=200, seed=1, as_of=AS_OF, dirty_rate=0.0)
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from customers")).scalar() == 200
        assert conn.execute(sa.text("select count(*) from consents")).scalar() == counts["consents"]


def test_engine_with_named_parameters_uses_the_portable_insert(tmp_path: Path) -> None:
    # Drivers without positional parameters (e.g. psycopg) go through Core's executemany.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'named.sqlite'}", paramstyle="named")
    tables = generate_demo_tables(customers=120, seed=2, as_of=AS_OF, dirty_rate=0.05)
    write_tables(engine, tables)
    counts = write_tables(engine, tables)  # rerun on the same engine replaces the tables
    with engine.connect() as conn:
        for table in ("customers", "questionnaire_responses"):
            rows = conn.execute(sa.text(f"select * from {table} order by 1")).all()
            assert len(rows) == counts[table]
            expected = list(zip(*(v.tolist() for v in tables[table].values()), strict=True))
            assert [tuple(r) for r in rows] == expected
    engine.dispose()


def test_same_seed_gives_identical_database_rows(tmp_path: Path) -> None:
    rows = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.sqlite"
        generate_demo_database(url, customers=300, seed=5, as_of=AS_OF, dirty_rate=0.02)
        with sa.create_engine(url).connect() as conn:
            rows.append(
                {t: conn.execute(sa.text(f"select * from {t} order by 1")).all() for t in SCHEMA}
            )
    assert rows[0] == rows[1]


def test_determinism_per_seed() -> None:
    def make(seed: int) -> dict[str, pd.DataFrame]:
        return _frames(generate_demo_tables(customers=500, seed=seed, as_of=AS_OF, dirty_rate=0.01))

    first, again, other = make(3), make(3), make(4)
    for table in SCHEMA:
        pd.testing.assert_frame_equal(first[table], again[table])
    assert not first["customers"].equals(other["customers"])
    assert not first["service_usage"].equals(other["service_usage"])


def test_invalid_parameters_are_named() -> None:
    with pytest.raises(DemoDataParameterError) as excinfo:
        generate_demo_tables(customers=0, seed=1)
    assert excinfo.value.parameter == "customers"
    with pytest.raises(DemoDataParameterError) as excinfo:
        generate_demo_tables(customers=10, seed=1, dirty_rate=1.5)
    assert excinfo.value.parameter == "dirty_rate"


# ---------------------------------------------------------------- realism


def test_customer_distributions(clean: dict[str, pd.DataFrame]) -> None:
    customers = clean["customers"]
    share = customers["gender"].value_counts(normalize=True)
    assert 0.80 <= share["F"] <= 0.90
    assert 0.09 <= share["M"] <= 0.17
    assert share.get("X", 0) > 0
    age = (pd.Timestamp(AS_OF) - _dates(customers["birth_date"])).dt.days / 365.2425
    assert age.min() >= 16 and age.max() < 87
    assert ((age >= 20) & (age < 50)).mean() >= 0.65
    top = customers["prefecture"].value_counts().index[:3].tolist()
    assert "東京都" in top
    assert customers["prefecture"].nunique() >= 40
    registered = _dates(customers["registered_on"])
    assert registered.min() >= pd.Timestamp("2015-01-01")
    assert (registered >= _dates(customers["birth_date"]) + pd.DateOffset(years=16)).mean() > 0.99


def test_every_date_is_on_or_before_as_of(clean: dict[str, pd.DataFrame]) -> None:
    for table, columns in DATE_COLUMNS.items():
        for column in columns:
            values = clean[table][column].dropna()
            parsed = _dates(values)
            assert parsed.notna().all(), (table, column)
            assert parsed.max() <= pd.Timestamp(AS_OF), (table, column)
    for table, column in (("consents", "recorded_at"), ("web_access_log", "accessed_at")):
        stamps = pd.to_datetime(clean[table][column], format="ISO8601")
        assert stamps.dt.tz is not None
        assert stamps.max() <= pd.Timestamp(f"{AS_OF.isoformat()}T23:59:59+09:00")


def test_postal_code_prefix_matches_prefecture(
    clean: dict[str, pd.DataFrame], prefix_to_prefecture: dict[str, str]
) -> None:
    customers = clean["customers"]
    assert customers["postal_code"].str.fullmatch(POSTAL.pattern).all()
    mapped = customers["postal_code"].str[:3].map(prefix_to_prefecture)
    assert (mapped == customers["prefecture"]).all()


def test_home_store_usually_in_same_prefecture(clean: dict[str, pd.DataFrame]) -> None:
    stores = clean["stores"].set_index("store_id")["prefecture"]
    customers = clean["customers"]
    with_store = customers["prefecture"].isin(set(stores))
    same = (
        customers.loc[with_store, "home_store_id"].map(stores)
        == customers.loc[with_store, "prefecture"]
    )
    assert same.mean() > 0.8
    assert clean["stores"]["prefecture"].value_counts().index[0] == "東京都"


def test_names_have_katakana_readings_and_contacts_look_japanese(
    clean: dict[str, pd.DataFrame],
) -> None:
    customers = clean["customers"]
    assert customers["family_name_kana"].str.fullmatch(r"[ァ-ヶー]+").all()
    assert customers["given_name_kana"].str.fullmatch(r"[ァ-ヶー]+").all()
    assert customers["phone"].str.fullmatch(PHONE.pattern).all()
    digits = customers["phone"].str.replace("-", "").str.len()
    mobile = customers["phone"].str.match(r"0[789]0-")
    assert (digits == np.where(mobile, 11, 10)).all()
    assert mobile.mean() > 0.6
    assert customers["email"].str.fullmatch(EMAIL.pattern).all()


def test_service_usage_is_realistic(clean: dict[str, pd.DataFrame]) -> None:
    usage, customers = clean["service_usage"], clean["customers"].set_index("customer_id")
    per_customer = usage.groupby("customer_id").size()
    assert 4 <= per_customer.mean() <= 6
    assert per_customer.max() > 3 * per_customer.median()  # skewed: a few regulars
    mix = usage["course_category"].value_counts(normalize=True)
    assert set(mix.index[:3]) == {"facial", "body", "hair_removal"}
    assert mix["bridal"] < 0.05
    assert (usage["amount_yen"] % 100 == 0).all()
    bridal = usage[usage["course_category"] == "bridal"]
    assert bridal["amount_yen"].between(50_000, 300_000).all()
    facial = usage[usage["course_category"] == "facial"]
    assert facial["amount_yen"].between(5_000, 20_000).all()
    bride = customers.loc[bridal["customer_id"]]
    assert (bride["gender"] == "F").all()
    age = (_dates(bridal["visit_date"]).to_numpy() - _dates(bride["birth_date"]).to_numpy()) / (
        np.timedelta64(1, "D") * 365.2425
    )
    assert ((age >= 22) & (age < 39)).all()
    visit = _dates(usage["visit_date"]).to_numpy()
    registered = _dates(customers.loc[usage["customer_id"], "registered_on"]).to_numpy()
    assert (visit >= registered).all()


def test_questionnaires(clean: dict[str, pd.DataFrame]) -> None:
    answers = clean["questionnaire_responses"]
    n_customers = len(clean["customers"])
    assert 0.33 <= answers["customer_id"].nunique() / n_customers <= 0.47
    assert answers.groupby("customer_id").size().max() <= 3
    for column in SATISFACTION:
        assert answers[column].between(1, 5).all()
    assert answers["satisfaction_overall"].isin([4, 5]).mean() > 0.6
    assert set(answers["channel"]) <= {"store", "web", "app", "mail"}
    comments = answers["comment"]
    assert 0.2 < comments.isna().mean() < 0.5
    text = comments.dropna()
    personal = text.str.contains(PHONE.pattern) | text.str.contains(EMAIL.pattern)
    assert 0 < personal.sum() < 0.06 * len(text)
    assert text.str.contains("[ぁ-ん]").all()  # Japanese


def test_consents_campaigns_mail_requests(clean: dict[str, pd.DataFrame]) -> None:
    customers = clean["customers"]
    n = len(customers)
    consents = clean["consents"]
    latest = (
        consents.sort_values(["recorded_at", "consent_id"])
        .groupby(["customer_id", "purpose"])["granted"]
        .last()
    )
    service = latest.xs("service", level="purpose")
    assert len(service) == n and (service == 1).all()
    statistics = latest.xs("statistics", level="purpose")
    assert len(statistics) == n and 0.92 <= statistics.mean() <= 0.98
    opted_out = consents[(consents["purpose"] == "statistics") & (consents["granted"] == 0)]
    assert opted_out["customer_id"].nunique() > 0
    partner = latest.xs("partner_marketing", level="purpose")
    assert 0.2 <= (partner == 1).sum() / n <= 0.4
    assert consents["policy_version"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert consents["consent_id"].is_monotonic_increasing

    assert 0.15 <= clean["campaign_applications"]["customer_id"].nunique() / n <= 0.25
    mail = clean["mail_subscriptions"]
    assert 0.3 <= mail["customer_id"].nunique() / n <= 0.4
    assert 0 < mail["unsubscribed_on"].notna().mean() < 0.3
    assert set(mail["list_name"]) == {"new_information", "mail_magazine"}

    requests = clean["customer_requests"]
    kinds = requests["request_type"].value_counts()
    assert kinds["deletion"] == round(0.01 * n) and kinds["correction"] == round(0.01 * n)
    assert kinds["disclosure"] > 0
    assert (requests["status"] == "pending").mean() > 0.5
    corrections = requests[requests["request_type"] == "correction"]
    assert set(corrections["field"]) <= {"postal_code", "birth_date", "gender"}
    assert requests.loc[requests["request_type"] != "correction", "field"].isna().all()
    by_id = customers.set_index("customer_id")
    for row in corrections.itertuples():
        current = by_id.loc[row.customer_id, row.field]
        if row.field == "postal_code":
            assert POSTAL.fullmatch(row.new_value)
        elif row.field == "birth_date":
            assert date.fromisoformat(row.new_value) < AS_OF
        else:
            assert row.new_value in {"F", "M", "X"}
        # A completed correction is already applied; a pending one differs from the row.
        assert (current == row.new_value) == (row.status == "completed")


def test_web_access_log(clean: dict[str, pd.DataFrame]) -> None:
    log = clean["web_access_log"]
    assert len(log) == round(0.2 * len(clean["customers"]))
    assert log["path"].str.startswith("/").all()
    assert log["client_hash"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert log["client_hash"].nunique() < len(log)  # clients come back
    assert log["user_agent"].str.startswith("Mozilla/5.0").all()
    assert log["accessed_at"].is_monotonic_increasing


def test_referential_integrity_of_clean_rows(clean: dict[str, pd.DataFrame]) -> None:
    customer_ids = set(clean["customers"]["customer_id"])
    store_ids = set(clean["stores"]["store_id"])
    for table in (
        "service_usage",
        "questionnaire_responses",
        "campaign_applications",
        "mail_subscriptions",
        "consents",
        "customer_requests",
    ):
        assert set(clean[table]["customer_id"]) <= customer_ids, table
        key = SCHEMA[table][0]
        assert clean[table][key].tolist() == list(range(1, len(clean[table]) + 1)), table
    assert set(clean["service_usage"]["store_id"]) <= store_ids
    assert set(clean["customers"]["home_store_id"]) <= store_ids


# ---------------------------------------------------------------- dirty rows


def _defects(tables: dict[str, pd.DataFrame], prefix_to_prefecture: dict[str, str]) -> dict:
    customers = tables["customers"]
    n = len(customers)
    usage, answers = tables["service_usage"], tables["questionnaire_responses"]
    birth = customers["birth_date"]
    return {
        "impossible birth date": birth.str.fullmatch(r"\d{4}-\d{2}-\d{2}") & _dates(birth).isna(),
        "era birth date": birth.str.contains("^(?:昭和|平成|令和)"),
        "malformed postal code": ~customers["postal_code"].str.fullmatch(POSTAL.pattern),
        "empty gender": customers["gender"] == "",
        "negative amount": usage["amount_yen"] < 0,
        "orphan usage": usage["customer_id"] > n,
        "unparseable visit date": _dates(usage["visit_date"]).isna(),
        "satisfaction out of range": ~answers[SATISFACTION].isin([1, 2, 3, 4, 5]).all(axis=1),
        "orphan questionnaire": answers["customer_id"] > n,
        "unparseable answer date": _dates(answers["answered_on"]).isna(),
    }


def test_dirty_rows_present_at_high_rate(
    dirty: dict[str, pd.DataFrame], prefix_to_prefecture: dict[str, str]
) -> None:
    defects = _defects(dirty, prefix_to_prefecture)
    for name, mask in defects.items():
        assert mask.sum() > 0, name
    customers = dirty["customers"]
    share = (
        defects["impossible birth date"]
        | defects["era birth date"]
        | defects["malformed postal code"]
        | defects["empty gender"]
    ).mean()
    assert 0.03 < share < 0.07
    satisfaction = dirty["questionnaire_responses"][SATISFACTION].to_numpy()
    assert set(np.unique(satisfaction)) <= {0, 1, 2, 3, 4, 5, 7}
    malformed = customers.loc[defects["malformed postal code"], "postal_code"]
    assert malformed.str.fullmatch(r"\d{7}|\d{2}-\d{2}").all()


def test_no_dirty_rows_at_rate_zero(
    clean: dict[str, pd.DataFrame], prefix_to_prefecture: dict[str, str]
) -> None:
    for name, mask in _defects(clean, prefix_to_prefecture).items():
        assert mask.sum() == 0, name


def test_dirty_rows_are_deterministic() -> None:
    def dirty_ids(seed: int) -> list[int]:
        t = generate_demo_tables(customers=1_000, seed=seed, as_of=AS_OF, dirty_rate=0.02)
        usage = t["service_usage"]
        return np.flatnonzero(usage["amount_yen"] < 0).tolist()

    assert dirty_ids(11) == dirty_ids(11)
    assert dirty_ids(11) != dirty_ids(12)


# ---------------------------------------------------------------- CLI


def test_cli_demo_data(tmp_path: Path) -> None:
    db = tmp_path / "cli" / "source.sqlite"
    result = CliRunner().invoke(
        app,
        [
            "demo-data",
            "--customers",
            "250",
            "--seed",
            "3",
            "--db",
            f"sqlite:///{db}",
            "--as-of",
            "2025-03-31",
            "--dirty-rate",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "customers" in result.output and "250" in result.output
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(sa.text("select count(*) from customers")).scalar() == 250
        latest = conn.execute(sa.text("select max(visit_date) from service_usage")).scalar()
    assert latest <= "2025-03-31"


def test_cli_rejects_bad_as_of(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo-data", "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--as-of", "24/11/2026"]
    )
    assert result.exit_code != 0
    assert not (tmp_path / "x.sqlite").exists()


def test_cli_default_db_ignores_the_source_url_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The configured source may be the real operational database: demo-data must not drop it.
    import pipeline.settings.paths

    default = tmp_path / "demo" / "source.sqlite"
    monkeypatch.setattr(pipeline.settings.paths, "DEFAULT_SOURCE_DB", default)
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{tmp_path / 'operational.sqlite'}")
    result = CliRunner().invoke(app, ["demo-data", "--customers", "100"])
    assert result.exit_code == 0, result.output
    assert default.exists()
    assert not (tmp_path / "operational.sqlite").exists()
