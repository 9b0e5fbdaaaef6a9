"""The partner registry: shipped file loads; bad files fail with the file and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings.partners import PartnerRegistryError, load_partners

GOOD = """
recipients:
  - id: partner-a
    name: A
    kind: cooperative_business
    agreement: AG-1
    valid_from: 2025-04-01
    valid_until: 2028-03-31
    purposes: [market_analysis]
    min_k: 10
    min_l: 2
    min_cell_count: 10
    allowed_datasets: [table, microdata]
  - id: sponsor-b
    name: B
    kind: advertising_sponsor
    agreement: AG-2
    valid_from: 2025-04-01
    valid_until: 2026-03-31
    purposes: [advertising_planning]
    format: csv-cp932
    min_k: 5
    min_cell_count: 20
    allowed_datasets: [table]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "partners.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_registry_loads() -> None:
    registry = load_partners()
    assert {"partner-cosmetics", "sponsor-adnet"} <= set(registry.ids())
    cosmetics = registry.get("partner-cosmetics")
    assert cosmetics.kind == "cooperative_business" and cosmetics.min_k == 10
    assert cosmetics.allows("customers_microdata")
    sponsor = registry.get("sponsor-adnet")
    assert "customers_by_region_age_gender" in sponsor.allowed_datasets
    assert not sponsor.allows("customers_microdata")
    assert sponsor.min_cell_count == 20


def test_registry_queries(tmp_path: Path) -> None:
    registry = load_partners(_write(tmp_path, GOOD))
    assert [r.id for r in registry.allowed("microdata")] == ["partner-a"]
    assert registry.get("sponsor-b").min_l is None
    with pytest.raises(KeyError):
        registry.get("nobody")


def test_recipients_are_frozen(tmp_path: Path) -> None:
    recipient = load_partners(_write(tmp_path, GOOD)).recipients[0]
    with pytest.raises(Exception, match="frozen"):
        recipient.min_k = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("kind: advertising_sponsor", "kind: newspaper"), "recipients.1(sponsor-b).kind"),
        (("min_k: 5", "min_k: 1"), "recipients.1(sponsor-b).min_k"),
        (("min_cell_count: 20", "min_cell_count: 20\n    colour: red"), "colour"),
        (("allowed_datasets: [table]\n", "allowed_datasets: []\n"), "allowed_datasets"),
        (("id: sponsor-b", "id: partner-a"), "duplicate recipient ids: ['partner-a']"),
        (("format: csv-cp932", "format: xlsx"), "recipients.1(sponsor-b).format"),
        (
            ("valid_until: 2026-03-31", "valid_until: 2025-03-31"),
            "recipients.1(sponsor-b): Value error, valid_until: before valid_from",
        ),
        (("valid_from: 2025-04-01\n    valid_until: 2026", "valid_until: 2026"), "valid_from"),
        (("purposes: [advertising_planning]", "purposes: []"), "recipients.1(sponsor-b).purposes"),
        (("agreement: AG-2", "agreement: ''"), "recipients.1(sponsor-b).agreement"),
        (
            ("format: csv-cp932", "format: csv-cp932\n    destination: nosuch://bucket/x"),
            "recipients.1(sponsor-b).destination",
        ),
    ],
)
def test_invalid_registry_names_file_and_field(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(PartnerRegistryError) as err:
        load_partners(path)
    assert str(path) in str(err.value)
    assert field in str(err.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(PartnerRegistryError, match="not found"):
        load_partners(tmp_path / "absent.yaml")
    with pytest.raises(PartnerRegistryError, match="not valid YAML"):
        load_partners(_write(tmp_path, "recipients: [\n"))
    with pytest.raises(PartnerRegistryError, match="mapping"):
        load_partners(_write(tmp_path, "- a\n- b\n"))


def test_allowed_datasets_must_be_known_when_given(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    assert load_partners(path, known_datasets={"table", "microdata", "other"}).ids() == (
        "partner-a",
        "sponsor-b",
    )
    assert load_partners(path).ids() == ("partner-a", "sponsor-b")  # no names: not checked
    typo = _write(tmp_path, GOOD.replace("allowed_datasets: [table]", "allowed_datasets: [tabel]"))
    with pytest.raises(PartnerRegistryError) as err:
        load_partners(typo, known_datasets=("table", "microdata"))
    message = str(err.value)
    assert str(typo) in message
    assert "'sponsor-b'" in message and "'tabel'" in message
    assert "'partner-a'" not in message
    assert err.value.path == typo
    with pytest.raises(PartnerRegistryError, match="'microdata'"):
        load_partners(path, known_datasets=["table"])


def test_shipped_registry_names_only_the_pipelines_datasets() -> None:
    from pipeline.release.datasets import known_datasets

    assert load_partners(known_datasets=known_datasets()).ids()


def test_the_retired_count_table_is_no_dataset_of_the_pipeline(tmp_path: Path) -> None:
    """The 4-D count table (region x 5-year age band x gender x course) was retired for the
    report catalogue: no shipped recipient receives it, and a registry still naming it fails
    at load with the recipient and the field named."""
    from pipeline.release.datasets import known_datasets, partner_registry

    retired = "customers_by_region_age_gender_course"
    assert retired not in known_datasets()
    registry = load_partners()
    assert not [r.id for r in registry.recipients if r.allows(retired)]
    shipped = Path(__file__).resolve().parents[1] / "data" / "partners.yaml"
    text = shipped.read_text(encoding="utf-8")
    anchor = "      - mail_magazine_subscribers_by_region_age\n\n  - id: contractor-analytics"
    assert anchor in text  # sponsor-adnet's last dataset
    stale = _write(
        tmp_path, text.replace(anchor, anchor.replace("\n\n", f"\n      - {retired}\n\n"))
    )
    with pytest.raises(PartnerRegistryError) as err:
        partner_registry(stale)
    message = str(err.value)
    assert "recipients.1(sponsor-adnet).allowed_datasets" in message
    assert f"unknown dataset {retired!r}" in message
    assert "partner-cosmetics" not in message.split(" (known:")[0]


def test_new_fields_load_with_defaults(tmp_path: Path) -> None:
    from datetime import date

    registry = load_partners(_write(tmp_path, GOOD))
    partner, sponsor = registry.recipients
    assert partner.format == "csv-utf8" and partner.destination is None
    assert partner.destination_root("/releases") == "/releases"
    assert sponsor.format == "csv-cp932" and sponsor.agreement == "AG-2"
    assert sponsor.purposes == ("advertising_planning",)
    assert sponsor.agreement_problem(date(2026, 3, 31)) is None  # the last day is in force
    assert "expired on 2026-03-31" in str(sponsor.agreement_problem(date(2026, 4, 1)))
    assert "not yet in force" in str(sponsor.agreement_problem(date(2025, 3, 31)))
    with_dest = GOOD.replace("format: csv-cp932", "format: parquet\n    destination: memory://x")
    assert load_partners(_write(tmp_path, with_dest)).get("sponsor-b").destination == "memory://x"


def test_web_statistics_go_to_internal_recipients_only(tmp_path: Path) -> None:
    web = GOOD.replace("allowed_datasets: [table]", "allowed_datasets: [table, web_visits]")
    path = _write(tmp_path, web)
    with pytest.raises(PartnerRegistryError) as err:
        load_partners(
            path, known_datasets={"table", "microdata", "web_visits"}, internal_only={"web_visits"}
        )
    message = str(err.value)
    assert "recipients.1(sponsor-b).allowed_datasets" in message and "'web_visits'" in message
    assert "internal only" in message and "'advertising_sponsor'" in message
    internal = _write(tmp_path, web.replace("kind: advertising_sponsor", "kind: internal"))
    registry = load_partners(
        internal, known_datasets={"table", "microdata", "web_visits"}, internal_only={"web_visits"}
    )
    assert registry.get("sponsor-b").allows("web_visits")


def test_unknown_dataset_names_the_entry_and_field(tmp_path: Path) -> None:
    typo = _write(tmp_path, GOOD.replace("allowed_datasets: [table]", "allowed_datasets: [tabel]"))
    with pytest.raises(PartnerRegistryError, match=r"recipients\.1\(sponsor-b\)\.allowed_datasets"):
        load_partners(typo, known_datasets=("table", "microdata"))
