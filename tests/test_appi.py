"""APPI (issue #11): agreements in force, legal categories, notices, statements, formats."""

from __future__ import annotations

import io
import json
import re
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

from pipeline.demo import DEMO_DATE
from pipeline.demo.generator import generate_demo_database
from pipeline.release.formats import FormatError, encode, shape
from pipeline.release.legal import (
    STATEMENT_FILE,
    category_for_kind,
    dataset_notice,
    load_texts,
    notice_problem,
    record_publication,
)
from pipeline.release.publish import verify_release
from pipeline.settings.partners import load_partners
from pipeline.sources.hierarchies import shipped_hierarchies
from pipeline.sources.schema import COURSE_CATEGORIES
from transforms.errors import ConfigurationError

RUN = DEMO_DATE.isoformat()
REPO = Path(__file__).resolve().parents[1]
MICRO = "customers_microdata"
TABLE = "customers_by_region_age_gender"  # a catalogue table every demo recipient receives


# ----------------------------------------------------------------------------- units


def _notice() -> str:
    from pipeline.settings.release_config import load_config

    profile = load_config().profile
    return dataset_notice(
        MICRO,
        quasi_identifiers=profile.quasi_identifiers,
        sensitive=profile.sensitive,
        recipients=load_partners().recipients,
        release_root="/releases",
    )


def test_the_notice_lists_categories_only() -> None:
    from pipeline.settings.release_config import load_config

    profile = load_config().profile
    notice = _notice()
    for heading in ("匿名加工情報に含まれる個人に関する情報の項目", "Categories of information"):
        assert heading in notice
    for category in ("年齢（年齢階級）", "性別", "居住地域", "主な利用コースの種別", "gender"):
        assert category in notice
    assert "電子ファイル" in notice and "electronic files" in notice
    # No number but the article of the law it is published under: no k, l, cut point, count.
    texts = load_texts()
    rest = notice.replace(texts.legal_basis.ja, "").replace(texts.legal_basis.en, "")
    assert re.findall(r"[0-9０-９]", rest) == []
    assert f"k={profile.k}" not in notice and "min_cell_count" not in notice
    # No value of any released column at any level: no age band, prefecture, region, course.
    trees = shipped_hierarchies(("age", "gender", "postal_code"))
    labels = {label for tree in trees.values() for row in tree.levels for label in row} - {"*"}
    found = [
        v
        for v in labels | set(COURSE_CATEGORIES)
        if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", rest)
    ]
    assert found == []
    # No recipient name or agreement either: the notice says the kinds of recipients.
    for r in load_partners().recipients:
        assert r.name not in notice and r.agreement not in notice


def test_a_dataset_kind_without_legal_category_fails() -> None:
    assert category_for_kind("table") == "statistics"
    assert category_for_kind("microdata") == "anonymously_processed"
    with pytest.raises(ConfigurationError, match="'cube' has no legal category"):
        category_for_kind("cube")


def test_notice_must_be_published_on_or_before_the_provision_date(tmp_path: Path) -> None:
    notice = _notice()
    day = date(2026, 11, 24)
    assert "no public notice" in str(notice_problem(tmp_path, MICRO, text=notice, on=day))
    record_publication(tmp_path, MICRO, on=date(2026, 11, 25), text=notice)
    assert "after the provision date" in str(notice_problem(tmp_path, MICRO, text=notice, on=day))
    assert notice_problem(tmp_path, MICRO, text=notice, on=date(2026, 11, 25)) is None
    changed = notice.replace("性別", "性別・国籍")
    assert "not the one the configuration gives now" in str(
        notice_problem(tmp_path, MICRO, text=changed, on=date(2026, 11, 30))
    )
    mode = stat.S_IMODE((tmp_path / "notices" / "publications.jsonl").stat().st_mode)
    assert mode == 0o600


CSV = "region,age_band,customers\n北海道,20-24,12\n東北,25-29,\n近畿,001,7\n".encode()


def test_cp932_keeps_japanese_text_and_rows() -> None:
    delivered = encode(CSV, "csv-cp932", name="t.csv")
    with pytest.raises(UnicodeDecodeError):
        delivered.decode("utf-8")
    frame = pd.read_csv(io.BytesIO(delivered), encoding="cp932", dtype=str)
    assert frame["region"].tolist() == ["北海道", "東北", "近畿"]
    assert shape("t.csv", delivered, "csv-cp932") == (3, ("region", "age_band", "customers"))
    bom = encode(CSV, "csv-utf8-bom", name="t.csv")
    assert bom.startswith(b"\xef\xbb\xbf") and bom[3:] == CSV
    assert shape("t.csv", bom, "csv-utf8-bom") == (3, ("region", "age_band", "customers"))
    assert encode(CSV, "csv-utf8", name="t.csv") is CSV


def test_cp932_refuses_a_character_it_cannot_hold_without_quoting_it() -> None:
    with pytest.raises(FormatError) as err:
        encode("name\n𠮷野家\n".encode(), "csv-cp932", name="t.csv")
    assert "t.csv" in str(err.value) and "𠮷" not in str(err.value)


def test_parquet_is_deterministic_and_keeps_text_and_zeros() -> None:
    first, second = encode(CSV, "parquet", name="t.parquet"), encode(CSV, "parquet", name="t")
    assert first == second
    frame = pd.read_parquet(io.BytesIO(first))
    assert frame["region"].tolist() == ["北海道", "東北", "近畿"]
    assert frame["age_band"].tolist() == ["20-24", "25-29", "001"]  # text: the zeros stay
    assert frame["customers"].tolist()[0] == 12 and pd.isna(frame["customers"].tolist()[1])
    assert shape("t.parquet", first, "parquet") == (3, ("region", "age_band", "customers"))


# ----------------------------------------------------------------------------- a run


def _registry(tmp_path: Path) -> Path:
    registry = yaml.safe_load((REPO / "data" / "partners.yaml").read_text(encoding="utf-8"))
    cosmetics, sponsor = registry["recipients"][0], registry["recipients"][1]
    registry["recipients"] += [
        dict(cosmetics, id="expired-partner", valid_until=date(2026, 3, 31)),
        dict(cosmetics, id="future-partner", valid_from=date(2027, 1, 1)),
        dict(sponsor, id="sponsor-cp932", format="csv-cp932"),
        dict(cosmetics, id="partner-parquet", format="parquet"),
    ]
    path = tmp_path / "partners.yaml"
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    return path


def _run(root: Path) -> Console:
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.run.summary import render_summary
    from pipeline.settings.release_config import load_config

    ctx = RunContext(run_date=DEMO_DATE, config=load_config())
    run_all(ctx)
    console = Console(record=True, width=300)
    render_summary(ctx, console=console)
    return console


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """One run without a published notice, then the same run after it was published."""
    root = tmp_path_factory.mktemp("appi")
    source = root / "source.sqlite"
    generate_demo_database(
        f"sqlite:///{source}", customers=1500, seed=5, as_of=DEMO_DATE, dirty_rate=0.002
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANONRELEASE_SOURCE_URL", f"sqlite:///{source}")
        mp.setenv("ANONRELEASE_WORKDIR", str(root / "warehouse"))
        mp.setenv("ANONRELEASE_RELEASE_ROOT", str(root / "releases"))
        mp.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
        mp.setenv("ANONRELEASE_PARTNERS", str(_registry(root)))
        first = _run(root).export_text()
        first_folders = sorted(p.parent.name for p in (root / "releases").glob(f"*/{RUN}"))
        first_files = {
            p.parent.name: sorted(f.name for f in p.iterdir())
            for p in (root / "releases").glob(f"*/{RUN}")
        }
        from pipeline.release.ledger import entries, open_ledger

        ledger = open_ledger(f"sqlite:///{root / 'warehouse' / 'ledger.sqlite'}")
        first_entries = entries(ledger)
        from pipeline.settings.release_config import load_config

        profile = load_config().profile
        notice = dataset_notice(
            MICRO,
            quasi_identifiers=profile.quasi_identifiers,
            sensitive=profile.sensitive,
            recipients=load_partners(_registry(root)).recipients,
            release_root=str(root / "releases"),
        )
        record_publication(root / "warehouse", MICRO, on=DEMO_DATE, text=notice)
        second = _run(root).export_text()
        yield {
            "root": root,
            "first": first,
            "first_folders": first_folders,
            "first_files": first_files,
            "first_entries": first_entries,
            "second": second,
            "entries": entries(ledger),
        }


def test_an_agreement_not_in_force_gets_nothing_and_the_ledger_and_summary_say_why(
    runs: dict,
) -> None:
    assert "expired-partner" not in runs["first_folders"]
    assert "future-partner" not in runs["first_folders"]
    assert not (runs["root"] / "releases" / "expired-partner").exists()
    refused = {e.recipient: e for e in runs["first_entries"] if e.outcome == "refused"}
    assert "expired on 2026-03-31" in refused["expired-partner"].reason
    assert "agreement AG-2025-014" in refused["expired-partner"].reason
    allowed = load_partners().get("partner-cosmetics").allowed_datasets
    assert sorted(refused["expired-partner"].datasets) == sorted(allowed)
    assert "not yet in force" in refused["future-partner"].reason
    assert not any(
        e.outcome == "provided" and e.recipient in ("expired-partner", "future-partner")
        for e in runs["entries"]
    )
    summary = runs["first"]
    assert re.search(r"refused for expired-partner: .*expired on 2026-03-31", summary, re.S)
    assert re.search(r"refused for future-partner: .*not yet in force", summary, re.S)


def test_microdata_without_a_published_notice_is_refused_and_recorded(runs: dict) -> None:
    files = runs["first_files"]
    delivered = set(files["partner-cosmetics"])
    assert {
        f"{TABLE}.csv",
        f"{TABLE}.dictionary.csv",
        "manifest.json",
        "manifest.json.sig",
        "public_key.pem",
    } <= delivered
    assert not any(name.startswith(MICRO) for name in delivered)
    refused = [
        e
        for e in runs["first_entries"]
        if e.outcome == "refused" and e.recipient == "partner-cosmetics"
    ]
    assert len(refused) == 1
    assert refused[0].datasets == (f"{MICRO}@monthly",)
    assert "no public notice recorded as published" in refused[0].reason
    assert "refused for partner-cosmetics: customers_microdata@monthly" in runs["first"]


def test_the_catalogue_tables_replace_the_retired_count_table(runs: dict) -> None:
    """Every partner table of the catalogue goes to each recipient whose agreement names it,
    and the retired 4-D count table (93 % of its cells suppressed) to no one."""
    from pipeline.release.datasets import report_names

    registry = load_partners()
    tables = report_names()
    assert len(tables) == 6 and TABLE in tables
    for recipient in ("partner-cosmetics", "sponsor-adnet", "contractor-analytics"):
        delivered = set(runs["first_files"][recipient])
        named = [t for t in tables if registry.get(recipient).allows(t)]
        assert named, recipient
        assert {f"{t}.csv" for t in named} <= delivered, recipient
    assert sorted(registry.get("partner-cosmetics").allowed_datasets) == sorted([*tables, MICRO])
    for files in runs["first_files"].values():
        assert not [f for f in files if f.startswith("customers_by_region_age_gender_course")]
    # The manifest says as of when a table's ages are counted (the tables with an age).
    manifest = verify_release(str(runs["root"] / "releases" / "partner-cosmetics" / RUN))
    assert manifest["datasets"][TABLE]["age_reference"] == f"{DEMO_DATE.year}-01-01"
    assert "age_reference" not in manifest["datasets"]["visits_by_course_quarter_area"]


def test_with_its_notice_published_microdata_goes_with_statement_dictionary_category(
    runs: dict,
) -> None:
    folder = runs["root"] / "releases" / "partner-cosmetics" / RUN
    manifest = verify_release(str(folder))
    names = {f["name"] for f in manifest["files"]}
    assert {f"{MICRO}.csv", f"{MICRO}.dictionary.csv", STATEMENT_FILE} <= names
    assert manifest["datasets"][MICRO]["legal_category"] == "anonymously_processed"
    assert manifest["datasets"][TABLE]["legal_category"] == "statistics"
    statement = (folder / STATEMENT_FILE).read_text(encoding="utf-8")
    assert "匿名加工情報" in statement and "anonymously processed information" in statement
    assert f"{MICRO}.csv" in statement and f"{TABLE}.csv" not in statement
    assert "AG-2025-014" in statement
    dictionary = pd.read_csv(folder / f"{MICRO}.dictionary.csv")
    assert set(dictionary["column"]) == {"age", "gender", "postal_code", "main_course"}
    assert dictionary["meaning_ja"].str.len().min() > 0
    # The table-only sponsor gets no statement: statistics are not personal information.
    sponsor = verify_release(str(runs["root"] / "releases" / "sponsor-adnet" / RUN))
    assert STATEMENT_FILE not in {f["name"] for f in sponsor["files"]}
    assert "statement (anonymously processed information)" in runs["second"]
    assert "public notices" in runs["second"]


def test_the_processing_record_is_internal_owner_only_and_states_rule_34(runs: dict) -> None:
    folder = runs["root"] / "warehouse" / RUN / "processing_records"
    path = folder / f"{MICRO}@monthly.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    record = json.loads(path.read_text())
    rule = record["rule34"]
    assert "customers.family_name" in rule["1_identifying_descriptions_deleted"]
    assert "customers.phone" in rule["1_identifying_descriptions_deleted"]
    assert rule["3_linking_codes"]["replaced_by_pseudonym_not_released"][0] == (
        "customers.customer_id"
    )
    assert set(rule["4_unique_descriptions"]["generalized"]) == {"age", "gender", "postal_code"}
    achieved = rule["5_database_characteristics"]["achieved"]
    assert achieved["min_class_size"] >= rule["5_database_characteristics"]["required"]["k"]
    postal = next(c for c in record["source_columns"] if c["column"] == "postal_code")
    assert postal["level"] == rule["4_unique_descriptions"]["generalized"]["postal_code"]


def test_a_cp932_delivery_opens_with_japanese_text_intact(runs: dict) -> None:
    folder = runs["root"] / "releases" / "sponsor-cp932" / RUN
    manifest = verify_release(str(folder))
    assert manifest["file_format"] == "csv-cp932"
    raw = (folder / f"{TABLE}.csv").read_bytes()
    table = pd.read_csv(io.BytesIO(raw), encoding="cp932")
    assert {"北海道", "関東", "近畿"} <= set(table["region"])
    dictionary = pd.read_csv(folder / f"{TABLE}.dictionary.csv", encoding="cp932")
    assert {"居住地域（郵便番号に基づく）", "1月1日時点の年齢"} <= set(dictionary["meaning_ja"])
    # The same table as the UTF-8 recipient's, byte for byte once decoded.
    utf8 = (runs["root"] / "releases" / "sponsor-adnet" / RUN / f"{TABLE}.csv").read_bytes()
    assert raw.decode("cp932") == utf8.decode("utf-8")


def test_a_parquet_delivery_verifies_and_holds_the_same_rows(runs: dict) -> None:
    folder = runs["root"] / "releases" / "partner-parquet" / RUN
    manifest = verify_release(str(folder))
    assert manifest["file_format"] == "parquet"
    table = pd.read_parquet(folder / f"{TABLE}.parquet")
    utf8 = pd.read_csv(runs["root"] / "releases" / "partner-cosmetics" / RUN / f"{TABLE}.csv")
    assert len(table) == len(utf8) and list(table.columns) == list(utf8.columns)
    entry = next(f for f in manifest["files"] if f["name"] == f"{TABLE}.parquet")
    assert entry["rows"] == len(utf8)
