"""Each vocabulary is defined once; everything that repeats it is tied to that definition here.

The source schema (``pipeline.sources.schema``) holds the words of the source columns; the raw
GX suites name them as parameters, the shipped hierarchies and the demo take them from the
schema. The suppression marker, the quarantine columns, the hierarchy folder and the demo date
are checked the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from expectations.validation import SUITES_DIR, load_suite
from pipeline.demo import DEMO_DATE, generator, vocabulary
from pipeline.settings.paths import HIERARCHY_DIR, REPO_ROOT
from pipeline.sources import schema
from pipeline.sources.hierarchies import HIERARCHY_COLUMNS, HIERARCHY_FILE, shipped_hierarchies
from pipeline.sources.reference_hierarchies import MAX_AGE
from transforms import customer_requests
from transforms.anonymize import SUPPRESSED
from transforms.hierarchy import load_hierarchy

RAW_SUITES = sorted(p.stem for p in SUITES_DIR.glob("raw_*.json"))
# Sets a raw suite may still spell out: the text encoding of a boolean, not a vocabulary.
LITERAL_SETS = {("raw_consents", "granted"): ["0", "1"]}


def _in_set_rules(suite: str) -> list[dict[str, Any]]:
    raw = json.loads((SUITES_DIR / f"{suite}.json").read_text(encoding="utf-8"))
    return [e for e in raw["expectations"] if e["type"] == "expect_column_values_to_be_in_set"]


# ------------------------------------------------------------------- suites <-> schema


@pytest.mark.parametrize("suite", RAW_SUITES)
def test_raw_suites_take_their_word_lists_from_the_schema(suite: str) -> None:
    for rule in _in_set_rules(suite):
        column, value_set = rule["kwargs"]["column"], rule["kwargs"]["value_set"]
        if (suite, column) in LITERAL_SETS:
            assert value_set == LITERAL_SETS[suite, column]
            continue
        assert isinstance(value_set, dict), f"{suite}.{column}: a literal word list"
        assert set(value_set) == {"$PARAMETER"}
        assert value_set["$PARAMETER"] in schema.SUITE_VOCABULARIES, (suite, column)


def test_every_schema_vocabulary_reaches_a_suite_and_fills_it() -> None:
    used: dict[str, list[str]] = {}
    for suite in RAW_SUITES:
        spec = load_suite(suite, parameters={"run_date": DEMO_DATE, **schema.SUITE_VOCABULARIES})
        for rule in _in_set_rules(suite):
            value_set = rule["kwargs"]["value_set"]
            if isinstance(value_set, dict):
                name = value_set["$PARAMETER"]
                (filled,) = [
                    e["kwargs"]["value_set"]
                    for e in spec.expectations
                    if e["type"] == rule["type"]
                    and e["kwargs"]["column"] == rule["kwargs"]["column"]
                ]
                assert filled == list(schema.SUITE_VOCABULARIES[name])
                used.setdefault(name, []).append(f"{suite}.{rule['kwargs']['column']}")
    assert set(used) == set(schema.SUITE_VOCABULARIES)


def test_vocabularies_are_word_tuples_without_repeats() -> None:
    for name, words in schema.SUITE_VOCABULARIES.items():
        assert isinstance(words, tuple) and words, name
        assert len(set(words)) == len(words), name
        assert all(isinstance(w, str) and w == w.strip() and w for w in words), name


def test_the_words_the_transforms_act_on_are_in_the_schema() -> None:
    assert customer_requests.STATISTICS_PURPOSE in schema.CONSENT_PURPOSES
    assert customer_requests.DELETION_REQUEST in schema.REQUEST_TYPES
    assert customer_requests.CORRECTION_REQUEST in schema.REQUEST_TYPES
    assert schema.SUITE_VOCABULARIES["correctable_fields"] == customer_requests.CORRECTABLE
    assert set(customer_requests.CORRECTABLE) <= set(schema.SOURCE_TABLES["customers"])


# -------------------------------------------------------------- hierarchies <-> schema


def test_the_gender_hierarchy_leaves_are_the_schema_genders() -> None:
    assert shipped_hierarchies(("gender",))["gender"].leaves == schema.GENDERS


def test_shipped_hierarchy_files_are_the_hierarchy_columns() -> None:
    names = sorted(p.name for p in HIERARCHY_DIR.glob("*.csv"))
    assert names == sorted(HIERARCHY_FILE.format(column=c) for c in HIERARCHY_COLUMNS)
    for column in HIERARCHY_COLUMNS:
        tree = load_hierarchy(HIERARCHY_DIR / HIERARCHY_FILE.format(column=column), column=column)
        assert {row[-1] for row in tree.levels} == {SUPPRESSED}, column  # ARX's top: "*"


def test_the_age_hierarchy_covers_the_raw_suites_age_range() -> None:
    ages = shipped_hierarchies(("age",))["age"].leaves
    assert ages == tuple(str(a) for a in range(MAX_AGE + 1))
    assert customer_requests.MAX_AGE_YEARS == MAX_AGE
    raw = json.loads((SUITES_DIR / "raw_customers.json").read_text(encoding="utf-8"))
    (birth,) = [
        e
        for e in raw["expectations"]
        if e["type"] == "expect_column_values_to_be_iso_dates_between"
        and e["kwargs"]["column"] == "birth_date"
    ]
    assert birth["kwargs"]["min_value"]["years_before"] == MAX_AGE


# ------------------------------------------------------------------ demo <-> schema


def test_the_demo_weights_exactly_the_schema_words() -> None:
    assert vocabulary.GENDERS is schema.GENDERS
    assert vocabulary.MAIL_LISTS is schema.MAIL_LISTS
    assert set(vocabulary.GENDER_SHARE) == set(schema.GENDERS)
    assert set(vocabulary.COURSE_SHARE) == set(schema.GENDERS)
    for gender, shares in vocabulary.COURSE_SHARE.items():
        assert tuple(shares) == vocabulary.COURSES, gender
    assert sorted(vocabulary.COURSES) == sorted(schema.COURSE_CATEGORIES)
    assert set(vocabulary.COURSE_JA) == set(schema.COURSE_CATEGORIES)
    assert set(vocabulary.COURSE_PRICE) == set(schema.COURSE_CATEGORIES)
    assert vocabulary.QUESTIONNAIRE_CHANNELS == schema.CHANNELS
    assert set(vocabulary.CAMPAIGN_CHANNELS) <= set(schema.CHANNELS)
    assert sorted(generator._CORRECTABLE) == sorted(customer_requests.CORRECTABLE)


def test_demo_data_holds_only_schema_words() -> None:
    tables = generator.generate_demo_tables(customers=300, seed=11, as_of=DEMO_DATE, dirty_rate=0.0)
    columns = {
        ("customers", "gender"): schema.GENDERS,
        ("service_usage", "course_category"): schema.COURSE_CATEGORIES,
        ("questionnaire_responses", "channel"): schema.CHANNELS,
        ("campaign_applications", "channel"): schema.CHANNELS,
        ("mail_subscriptions", "list_name"): schema.MAIL_LISTS,
        ("consents", "purpose"): schema.CONSENT_PURPOSES,
        ("customer_requests", "request_type"): schema.REQUEST_TYPES,
        ("customer_requests", "status"): schema.REQUEST_STATUSES,
    }
    for (table, column), words in columns.items():
        values = {str(v) for v in tables[table][column] if v is not None}
        assert values and values <= set(words), (table, column, values - set(words))
    requests = tables["customer_requests"]
    fields = {
        str(f)
        for f, kind in zip(requests["field"], requests["request_type"], strict=True)
        if kind == customer_requests.CORRECTION_REQUEST
    }
    assert fields <= set(customer_requests.CORRECTABLE)


# --------------------------------------------------- markers, columns, folders, dates


def test_one_suppression_marker_and_one_pair_of_quarantine_columns() -> None:
    from expectations import validation
    from transforms import parse

    # expectations.privacy imports GX (seconds): read its source instead
    privacy = (REPO_ROOT / "expectations" / "privacy.py").read_text(encoding="utf-8")
    assert re.search(r"^SUPPRESSION_MARKER = SUPPRESSED\b", privacy, flags=re.MULTILINE)
    assert "from transforms.anonymize import SUPPRESSED" in privacy
    assert validation.ROW_COLUMN is parse.ROW_COLUMN
    assert validation.REASON_COLUMN is parse.REASON_COLUMN


def test_no_module_spells_out_a_quarantine_column_or_the_hierarchy_folder() -> None:
    """The quarantine columns come from transforms.parse; the folder (a path joined with
    ``/ "hierarchies"``) from pipeline.settings.paths."""
    offenders = []
    for package in ("transforms", "expectations", "pipeline", "dags"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            code = re.sub(r'"""[\s\S]*?"""', "", text)  # docstrings may name them
            for pattern in (r'["\']_reason["\']', r'["\']_row["\']', r'/\s*["\']hierarchies["\']'):
                if re.search(pattern, code) and path.name not in ("parse.py", "paths.py"):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}: {pattern}")
    assert offenders == []


def test_the_demo_date_is_the_makefiles_and_the_readmes() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    (made,) = re.findall(r"^DEMO_DATE \?= (\S+)$", makefile, flags=re.MULTILINE)
    assert made == DEMO_DATE.isoformat()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"one logical date ({DEMO_DATE.isoformat()})" in readme
    from pipeline.cli.demo_command import DEFAULT_AS_OF

    assert DEMO_DATE.isoformat() == DEFAULT_AS_OF
    assert generator.DEFAULT_AS_OF == DEMO_DATE


def test_the_hierarchy_folder_is_the_one_in_paths() -> None:
    assert Path(HIERARCHY_DIR).is_dir()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{HIERARCHY_DIR.relative_to(REPO_ROOT).as_posix()}/`" in readme
