"""The data dictionaries of the report catalogue's tables: every column, real text, the method
the table was really built with (pipeline/release/legal.py, report_dictionary_frame)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipeline.release.legal import LegalConfigError, load_texts, report_dictionary_frame
from pipeline.settings.report_specs import ReportSpec, load_catalogue
from transforms.table_protection import MEAN_KINDS

PARAMETERS: dict[str, dict[str, Any]] = {
    "suppress": {"method": "suppress", "min_contributors": 20, "dominance": None},
    "cellkey": {"method": "cellkey", "ptable": "counts_D3_V2_js2.csv", "D": 3},
    "dp": {"method": "dp", "epsilon": 0.5, "mechanism": "gaussian"},
}
WINDOW = {"from": "2025-11-01", "to": "2026-10-31"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _columns(spec: ReportSpec) -> list[str]:
    """The columns a catalogue table is published with (transforms.table_protection)."""
    extra = ["responses"] if spec.measure.kind in MEAN_KINDS else []
    return [*(d.name for d in spec.dimensions), "value", *extra, "flag"]


CASES = [
    pytest.param(spec, p.method, id=f"{name}-{p.method}")
    for name, spec in load_catalogue().items()
    for p in spec.protection
]


@pytest.mark.parametrize(("spec", "method"), CASES)
def test_every_column_of_every_table_and_method_has_a_real_entry(
    spec: ReportSpec, method: str
) -> None:
    placeholder = load_texts().no_description
    frame = report_dictionary_frame(
        spec, columns=_columns(spec), parameters={**PARAMETERS[method], "window": WINDOW}
    )
    assert frame["column"].tolist() == _columns(spec)
    for lang in ("ja", "en"):
        for field in ("meaning", "generalization"):
            texts = frame[f"{field}_{lang}"]
            assert texts.str.len().min() > 0
            assert not texts.str.contains(re.escape(getattr(placeholder, lang))).any()
            assert "{" not in "".join(texts)  # every placeholder of the template filled
    assert frame["meaning_ja"].map(lambda t: bool(JAPANESE.search(t))).all()
    entries = frame.set_index("column")
    if spec.margins:
        for dim in spec.dimensions:
            assert "TOTAL" in entries.loc[dim.name, "generalization_en"]
    value = entries.loc["value"]
    protection = {
        "suppress": ("1～19人", "1 to 19 contributing"),  # the recipient's minimum, not the spec's
        "cellkey": ("±3", "±3"),
        "dp": ("ε = 0.5", "epsilon = 0.5"),
    }[method]
    assert protection[0] in value["generalization_ja"]
    assert protection[1] in value["generalization_en"]
    if spec.window is not None:
        assert "2025-11-01" in value["meaning_en"] and "2026-10-31" in value["meaning_ja"]
    flags = entries.loc["flag", "generalization_en"]
    expected = {"suppress": "suppressed-secondary", "cellkey": "perturbed", "dp": "noisy"}[method]
    assert expected in flags


def test_the_measure_and_its_unit_follow_the_spec() -> None:
    catalogue = load_catalogue()
    revenue = report_dictionary_frame(
        catalogue["revenue_by_course_quarter_area"],
        columns=["course", "quarter", "store_area", "value", "flag"],
        parameters={
            "method": "suppress",
            "min_contributors": 10,
            "dominance": [1, 60.0],
            "p_percent": 10.0,
            "window": WINDOW,
        },
    ).set_index("column")
    assert (
        "円" in revenue.loc["value", "meaning_ja"] and "yen" in revenue.loc["value", "meaning_en"]
    )
    assert "60 %" in revenue.loc["value", "generalization_en"]
    assert "10%以内" in revenue.loc["value", "generalization_ja"]
    assert "東日本" in revenue.loc["store_area", "generalization_ja"]
    satisfaction = report_dictionary_frame(
        catalogue["satisfaction_by_course_age"],
        columns=["main_course", "age_group", "value", "responses", "flag"],
        parameters={"method": "suppress", "min_contributors": 10, "window": WINDOW},
    ).set_index("column")
    assert "mean overall satisfaction" in satisfaction.loc["value", "meaning_en"]
    assert "0-39, 40+" in satisfaction.loc["age_group", "generalization_en"]
    assert "回答数" in satisfaction.loc["responses", "meaning_ja"]
    assert "empty value (0 responses)" in satisfaction.loc["value", "generalization_en"]
    assert "published as 0" not in satisfaction.loc["value", "generalization_en"]
    visits = report_dictionary_frame(
        catalogue["visits_by_course_quarter_area"],
        columns=["value"],
        parameters={"method": "suppress", "min_contributors": 10, "window": WINDOW},
    )
    assert "来店の件数" in visits["meaning_ja"].iloc[0]
    assert "published as 0" in visits["generalization_en"].iloc[0]
    stock = report_dictionary_frame(
        catalogue["customers_by_region_age_gender"],
        columns=["value"],
        parameters=PARAMETERS["cellkey"],
    )
    assert "as of the run date" in stock["meaning_en"].iloc[0]


def test_a_column_without_an_entry_fails_naming_it() -> None:
    spec = load_catalogue()["customers_by_region_age_gender"]
    with pytest.raises(LegalConfigError, match=r"customers_by_region_age_gender: column 'extra'"):
        report_dictionary_frame(spec, columns=["region", "extra"], parameters=PARAMETERS["cellkey"])


def test_a_missing_text_fails_naming_the_field_not_a_placeholder() -> None:
    texts = load_texts()
    words = texts.report_dictionary
    attributes = {k: v for k, v in words.attributes.items() if k != "gender"}
    broken = texts.model_copy(
        update={"report_dictionary": words.model_copy(update={"attributes": attributes})}
    )
    spec = load_catalogue()["customers_by_region_age_gender"]
    with pytest.raises(LegalConfigError, match=r"report_dictionary\.attributes\.gender missing"):
        report_dictionary_frame(
            spec, columns=_columns(spec), parameters=PARAMETERS["cellkey"], texts=broken
        )
    with pytest.raises(LegalConfigError, match=r"lack 'D'"):
        report_dictionary_frame(spec, columns=["value"], parameters={"method": "cellkey"})
