"""APPI: each dataset's legal category, and the artefacts its duties call for.

Under Japan's APPI a statistical table (統計情報) is not personal information; record-level
data given to a third party is anonymously processed information (匿名加工情報, Art. 43-46).
The category follows the dataset's *kind* (:func:`category_for_kind`: tables ``statistics``,
microdata ``anonymously_processed``), so a new table is ``statistics`` without being named here.

For anonymously processed information this module renders, from the configuration and the
texts in ``data/legal/legal.yaml``:

- the public notice (公表文, Rule 36 and 37; :func:`notice_text`): the categories of
  information and the method of provision, never a value, level or parameter;
- the statement in every delivery (:func:`statement_text`, Art. 43(4)): that the files are
  anonymously processed information and that re-identification is prohibited (Art. 45);
- the internal processing record per dataset and run (:func:`processing_record`, Rule 34
  items 1-5, kept owner-only as processing-method information under Rule 35);
- and, for every dataset, the data dictionary (:func:`dictionary_frame`, Japanese and English;
  for a table of the report catalogue :func:`report_dictionary_frame`, derived from its spec).

A notice is *published* by an operator (on the website) and recorded with
:func:`record_publication`; :func:`notice_problem` refuses a provision unless the notice the
configuration gives now was recorded as published on or before the provision date.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.release.datasets import DATASETS, MICRODATA
from pipeline.settings.partners import PartnerRegistry, Recipient
from pipeline.settings.paths import DATA_DIR
from pipeline.settings.report_specs import DimensionSpec, ReportSpec
from pipeline.settings.storage import open_private, private_dir, write_private
from pipeline.sources.report_dimensions import age_band_labels
from transforms.errors import ConfigurationError
from transforms.table_protection import MEAN_KINDS, NOISY, PERTURBED, PRIMARY, SECONDARY

LegalCategory = Literal["statistics", "anonymously_processed"]
CATEGORY_BY_KIND: dict[str, LegalCategory] = {
    "table": "statistics",
    "report": "statistics",  # main's report catalogue (CandidateDataset kind "report")
    "microdata": "anonymously_processed",
}
LEGAL_TEXTS = DATA_DIR / "legal" / "legal.yaml"
STATEMENT_FILE = "ANONYMOUSLY_PROCESSED_INFORMATION.txt"
NOTICE_SUFFIX = ".notice.md"
PUBLICATIONS_FILE = "publications.jsonl"
Language = Literal["ja", "en"]


class LegalConfigError(ConfigurationError):
    """The legal texts or a dataset's legal category are missing or invalid (names what)."""


def category_for_kind(kind: str) -> LegalCategory:
    """The legal category of a dataset of this kind; an unknown kind has none (fails)."""
    try:
        return CATEGORY_BY_KIND[kind]
    except KeyError:
        raise LegalConfigError(f"dataset kind {kind!r} has no legal category") from None


def dataset_kind(dataset: str) -> str:
    """``microdata`` for the record-level dataset, ``table`` for every other dataset."""
    return "microdata" if dataset == MICRODATA else "table"


def category_of(dataset: str) -> LegalCategory:
    return category_for_kind(dataset_kind(dataset))


def anonymously_processed(datasets: Collection[str]) -> tuple[str, ...]:
    """The datasets, of those given, that are anonymously processed information (sorted)."""
    return tuple(sorted(d for d in datasets if category_of(d) == "anonymously_processed"))


# ----------------------------------------------------------------------------- texts


class Bilingual(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: Language) -> str:
        return self.ja if lang == "ja" else self.en


class ColumnText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Bilingual | None = None
    meaning: Bilingual
    levels: dict[int, Bilingual] = {}
    generalization: Bilingual | None = None


class DatasetText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Bilingual


class SourceColumn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    treatment: Literal["deleted", "pseudonymized", "generalized", "summarized"]
    item: int = Field(ge=1, le=5)
    released_as: str | None = None
    note: str | None = None


class MeasureColumnText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Bilingual
    unit: Bilingual


class FlagText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    meaning: Bilingual
    values: dict[str, Bilingual]


class ReportDictionaryTexts(BaseModel):
    """The texts of the report catalogue's dictionaries (``report_dictionary`` in legal.yaml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attributes: dict[str, ColumnText]
    age_bands: Bilingual
    subtotals: Bilingual
    total: Bilingual
    measures: dict[str, Bilingual]
    records: dict[str, Bilingual]
    measure_columns: dict[str, MeasureColumnText]
    window: Bilingual
    stock: Bilingual
    methods: dict[str, Bilingual]
    mechanisms: dict[str, Bilingual]
    zero: Bilingual
    no_responses: Bilingual
    dominance: Bilingual
    p_percent: Bilingual
    flag: FlagText
    responses: ColumnText


class LegalTexts(BaseModel):
    """``data/legal/legal.yaml``, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    legal_basis: Bilingual
    datasets: dict[str, DatasetText]
    columns: dict[str, ColumnText]
    no_description: Bilingual
    report_dictionary: ReportDictionaryTexts
    provision_methods: dict[Literal["local", "object_store"], Bilingual]
    recipient_kinds: dict[str, Bilingual]
    notice: dict[Language, dict[str, str]]
    statement: dict[Language, dict[str, str]]
    source_columns: dict[str, dict[str, SourceColumn]]


@cache
def load_texts(path: Path = LEGAL_TEXTS) -> LegalTexts:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LegalTexts.model_validate(raw)
    except FileNotFoundError:
        raise LegalConfigError(f"{path}: not found") from None
    except yaml.YAMLError:
        raise LegalConfigError(f"{path}: not valid YAML") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise LegalConfigError(f"{path}: {problems}") from None


def provision_method(destination: str) -> Literal["local", "object_store"]:
    """How a destination receives files: a local folder, or an object store (a URL)."""
    protocol = destination.split("://", 1)[0] if "://" in destination else "file"
    return "local" if protocol in ("file", "local") else "object_store"


def _categories(columns: Sequence[str], texts: LegalTexts) -> list[Bilingual]:
    missing = [c for c in columns if c not in texts.columns or texts.columns[c].category is None]
    if missing:
        raise LegalConfigError(
            f"{LEGAL_TEXTS}: columns.{missing[0]}.category missing (a notice lists the "
            "category of every released column)"
        )
    return [cat for c in columns if (cat := texts.columns[c].category) is not None]


def _title(dataset: str, texts: LegalTexts) -> Bilingual:
    if dataset not in texts.datasets:
        raise LegalConfigError(f"{LEGAL_TEXTS}: datasets.{dataset}.title missing")
    return texts.datasets[dataset].title


def notice_text(
    dataset: str,
    *,
    columns: Sequence[str],
    recipients: Sequence[Recipient],
    release_root: str,
    texts: LegalTexts | None = None,
) -> str:
    """The public notice of ``dataset`` (Markdown, Japanese then English): categories only.

    ``columns`` are its released columns; ``recipients`` those whose agreement allows it
    (their kinds and destinations give the kinds of recipients and methods of provision).
    """
    texts = texts or load_texts()
    categories = _categories(columns, texts)
    title = _title(dataset, texts)
    kinds = [k for k in texts.recipient_kinds if any(r.kind == k for r in recipients)]
    methods = sorted({provision_method(r.destination_root(release_root)) for r in recipients})
    parts: list[str] = []
    for lang in ("ja", "en"):
        t = texts.notice[lang]
        parts += [
            f"# {t['title']}",
            "",
            t["intro"].format(legal_basis=texts.legal_basis(lang)),
            "",
            f"## {t['dataset']}",
            "",
            f"- {title(lang)}",
            "",
            f"## {t['categories']}",
            "",
            *(f"- {c(lang)}" for c in categories),
            "",
            f"## {t['method']}",
            "",
            *(f"- {texts.provision_methods[m](lang)}" for m in methods),
            "",
            f"## {t['recipients']}",
            "",
            *(f"- {texts.recipient_kinds[k](lang)}" for k in kinds),
            "",
            t["duty"],
            "",
        ]
    return "\n".join(parts)


def statement_text(
    *,
    files: Sequence[str],
    columns: Sequence[str],
    agreement: str,
    destination: str,
    texts: LegalTexts | None = None,
) -> str:
    """The statement delivered with anonymously processed information (Japanese, English)."""
    texts = texts or load_texts()
    categories = _categories(columns, texts)
    method = texts.provision_methods[provision_method(destination)]
    parts: list[str] = []
    for lang in ("ja", "en"):
        t = texts.statement[lang]
        parts += [
            t["title"],
            "",
            t["intro"],
            *(f"  - {f}" for f in files),
            "",
            f"{t['agreement']}: {agreement}",
            f"{t['categories']}: " + (" / ".join(c(lang) for c in categories)),
            f"{t['method']}: {method(lang)}",
            "",
            t["duty"],
            "",
        ]
    return "\n".join(parts)


DICTIONARY_COLUMNS = (
    "column",
    "meaning_ja",
    "meaning_en",
    "generalization_ja",
    "generalization_en",
)


def dictionary_frame(
    columns: Sequence[str],
    *,
    levels: Mapping[str, int] | None = None,
    texts: LegalTexts | None = None,
) -> pd.DataFrame:
    """The data dictionary of a dataset: each column, its meaning and its generalization.

    ``levels`` gives, for microdata, the hierarchy level each quasi-identifier was released at.
    """
    texts = texts or load_texts()
    rows = []
    for column in columns:
        text = texts.columns.get(column)
        if text is None:
            meaning = generalization = texts.no_description
        else:
            meaning = text.meaning
            level = (levels or {}).get(column)
            described = text.levels.get(level) if level is not None else None
            generalization = described or text.generalization or texts.no_description
        rows.append(
            {
                "column": column,
                "meaning_ja": meaning.ja,
                "meaning_en": meaning.en,
                "generalization_ja": generalization.ja,
                "generalization_en": generalization.en,
            }
        )
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


# The flags each protection method can give, in the order a dictionary lists them.
METHOD_FLAGS: dict[str, tuple[str, ...]] = {
    "suppress": ("", PRIMARY, SECONDARY),
    "cellkey": ("", PERTURBED),
    "dp": (NOISY,),
}
_SEPARATORS: dict[Language, str] = {"ja": "。", "en": "; "}


def _entry(section: Mapping[Any, Any], key: str | int, field: str) -> Any:
    """``report_dictionary.<field>.<key>`` of the legal texts; missing fails naming it."""
    try:
        return section[key]
    except KeyError:
        raise LegalConfigError(f"{LEGAL_TEXTS}: report_dictionary.{field}.{key} missing") from None


def _fill(template: Bilingual, **values: Bilingual | str | int | float) -> Bilingual:
    """``template`` with its ``{placeholders}`` filled, each language from its own values."""

    def one(lang: Language) -> str:
        return template(lang).format(
            **{k: v(lang) if isinstance(v, Bilingual) else v for k, v in values.items()}
        )

    return Bilingual(ja=one("ja"), en=one("en"))


def _concat(
    parts: Sequence[Bilingual], separators: Mapping[Language, str] = _SEPARATORS
) -> Bilingual:
    return Bilingual(
        ja=separators["ja"].join(p.ja for p in parts), en=separators["en"].join(p.en for p in parts)
    )


def _number(value: object) -> str:
    """60.0 -> ``60``, 0.5 -> ``0.5``: parameters as a reader writes them."""
    return f"{float(value):g}" if isinstance(value, int | float) else str(value)


def _parameter(spec: ReportSpec, parameters: Mapping[str, Any], key: str) -> Any:
    if parameters.get(key) is None:
        raise LegalConfigError(
            f"{spec.name}: its build parameters lack {key!r}, which its data dictionary states"
        )
    return parameters[key]


def _dimension_entry(
    dim: DimensionSpec, *, margins: bool, texts: ReportDictionaryTexts
) -> tuple[Bilingual, Bilingual]:
    """A dimension column: the attribute, its level (or bands), and what TOTAL means."""
    attribute: ColumnText = _entry(texts.attributes, dim.attribute, "attributes")
    if dim.bands is not None:
        level = _fill(texts.age_bands, bands=", ".join(age_band_labels(dim.bands)))
    elif dim.level is not None:
        level = _entry(attribute.levels, dim.level, f"attributes.{dim.attribute}.levels")
    elif attribute.generalization is not None:
        level = attribute.generalization
    else:
        raise LegalConfigError(
            f"{LEGAL_TEXTS}: report_dictionary.attributes.{dim.attribute}.generalization missing"
        )
    parts = [level]
    if dim.subtotals:
        parts.append(texts.subtotals)
    if margins:
        parts.append(texts.total)
    return attribute.meaning, _concat(parts)


def _measure_entry(
    spec: ReportSpec, parameters: Mapping[str, Any], texts: ReportDictionaryTexts
) -> Bilingual:
    """The value column's meaning: the measure, its unit, and the table's period."""
    kind = spec.measure.kind
    template: Bilingual = _entry(texts.measures, kind, "measures")
    if kind == "customers":
        measure = template
    elif kind == "records":
        measure = _fill(template, records=_entry(texts.records, spec.source, "records"))
    else:
        column: MeasureColumnText = _entry(
            texts.measure_columns, str(spec.measure.column), "measure_columns"
        )
        measure = _fill(template, column=column.name, unit=column.unit)
    window = parameters.get("window")
    if isinstance(window, Mapping):
        period = _fill(texts.window, start=str(window["from"]), end=str(window["to"]))
    else:
        period = texts.stock
    return _concat([measure, period])


def _protection_entry(
    spec: ReportSpec, method: str, parameters: Mapping[str, Any], texts: ReportDictionaryTexts
) -> Bilingual:
    """How the value column was protected, with the parameters it was really built with."""
    template: Bilingual = _entry(texts.methods, method, "methods")
    if method == "suppress":
        n = int(_parameter(spec, parameters, "min_contributors"))
        parts = [_fill(template, n_below=n - 1)]
        dominance = parameters.get("dominance")
        if isinstance(dominance, Sequence) and len(dominance) == 2 and dominance[0] is not None:
            parts.append(
                _fill(
                    texts.dominance,
                    dominance_n=_number(dominance[0]),
                    dominance_k=_number(dominance[1]),
                )
            )
        if parameters.get("p_percent") is not None:
            parts.append(_fill(texts.p_percent, p_percent=_number(parameters["p_percent"])))
        parts.append(texts.no_responses if spec.measure.kind in MEAN_KINDS else texts.zero)
        return _concat(parts)
    if method == "cellkey":
        return _fill(
            template,
            D=_number(_parameter(spec, parameters, "D")),
            ptable=str(_parameter(spec, parameters, "ptable")),
        )
    mechanism = _entry(
        texts.mechanisms, str(_parameter(spec, parameters, "mechanism")), "mechanisms"
    )
    return _fill(
        template, mechanism=mechanism, epsilon=_number(_parameter(spec, parameters, "epsilon"))
    )


def report_dictionary_frame(
    spec: ReportSpec,
    *,
    columns: Sequence[str],
    parameters: Mapping[str, Any],
    texts: LegalTexts | None = None,
) -> pd.DataFrame:
    """The data dictionary of a catalogue table, derived from its spec and how it was built.

    ``columns`` are the delivered file's columns (its order); ``parameters`` what the table
    was really built with (the manifest's entry: ``method`` and its parameters, ``window``).
    Dimension columns say their attribute, level and what ``TOTAL`` means; ``value`` the
    measure, its unit and period and the protection; ``flag`` the values that method gives.
    A column or a text without an entry fails (LegalConfigError naming it): a recipient
    never gets a placeholder.
    """
    texts = texts or load_texts()
    words = texts.report_dictionary
    method = str(parameters.get("method") or spec.method().method)
    entries: dict[str, tuple[Bilingual, Bilingual]] = {
        dim.name: _dimension_entry(dim, margins=spec.margins, texts=words)
        for dim in spec.dimensions
    }
    entries["value"] = (
        _measure_entry(spec, parameters, words),
        _protection_entry(spec, method, parameters, words),
    )
    flags = [_entry(words.flag.values, f, "flag.values") for f in METHOD_FLAGS[method]]
    entries["flag"] = (words.flag.meaning, _concat(flags, {"ja": "／", "en": "; "}))
    if spec.measure.kind in MEAN_KINDS:
        if words.responses.generalization is None:
            raise LegalConfigError(
                f"{LEGAL_TEXTS}: report_dictionary.responses.generalization missing"
            )
        entries["responses"] = (words.responses.meaning, words.responses.generalization)
    missing = [c for c in columns if c not in entries]
    if missing:
        raise LegalConfigError(f"{spec.name}: column {missing[0]!r} has no dictionary entry")
    rows = [
        {
            "column": column,
            "meaning_ja": entries[column][0].ja,
            "meaning_en": entries[column][0].en,
            "generalization_ja": entries[column][1].ja,
            "generalization_en": entries[column][1].en,
        }
        for column in columns
    ]
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def dictionary_name(dataset: str, suffix: str) -> str:
    return f"{dataset}.dictionary{suffix}"


def processing_record(
    dataset: str,
    *,
    run: str,
    transformation: Mapping[str, int],
    requirement: Mapping[str, Any],
    achieved: Mapping[str, Any],
    texts: LegalTexts | None = None,
) -> dict[str, Any]:
    """The internal processing record of one dataset and run (Rule 34 items 1-5).

    Each source column with what became of it (deleted, replaced by a pseudonym, generalized
    to which level, summarized), the rare-value handling, and the k / l / suppression
    required and achieved. Internal: it names levels and parameters (Rule 35).
    """
    texts = texts or load_texts()
    columns: list[dict[str, Any]] = []
    for table, entries in sorted(texts.source_columns.items()):
        for name, entry in entries.items():
            row: dict[str, Any] = {
                "table": table,
                "column": name,
                "treatment": entry.treatment,
                "rule34_item": entry.item,
            }
            if entry.released_as is not None:
                row["released_as"] = entry.released_as
                level = transformation.get(entry.released_as)
                if level is not None:
                    row["level"] = level
                    described = texts.columns[entry.released_as].levels.get(level)
                    row["level_means"] = described.en if described else None
            if entry.note:
                row["note"] = entry.note
            columns.append(row)

    def named(treatment: str) -> list[str]:
        return [f"{c['table']}.{c['column']}" for c in columns if c["treatment"] == treatment]

    return {
        "record": "anonrelease-processing-record/1",
        "dataset": dataset,
        "run": run,
        "legal_category": "anonymously_processed",
        "rule34": {
            "1_identifying_descriptions_deleted": named("deleted"),
            "2_individual_identification_codes": "none held in the source tables",
            "3_linking_codes": {
                "replaced_by_pseudonym_not_released": named("pseudonymized"),
            },
            "4_unique_descriptions": {
                "generalized": {c: lvl for c, lvl in sorted(transformation.items())},
                "rare_values": "records in equivalence classes smaller than k are suppressed "
                "(removed); the gate refuses any release below k, l or the table threshold",
                "suppressed_records": achieved.get("suppressed"),
                "records": achieved.get("records"),
            },
            "5_database_characteristics": {
                "required": dict(requirement),
                "achieved": dict(achieved),
                "measures": [
                    "rows in canonical order (sorted on released labels only)",
                    "differencing gate against the recipient's previous release",
                    "each microdata series' transformation frozen by its first release",
                ],
            },
        },
        "source_columns": columns,
    }


# ----------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Publication:
    dataset: str
    published_on: date
    sha256: str
    where: str | None = None


def notices_dir(workdir: str | Path) -> Path:
    return Path(workdir) / "notices"


def notice_path(workdir: str | Path, dataset: str) -> Path:
    return notices_dir(workdir) / f"{dataset}{NOTICE_SUFFIX}"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_notice(workdir: str | Path, dataset: str, text: str) -> Path:
    """Write the notice file to publish (``<workdir>/notices/<dataset>.notice.md``)."""
    private_dir(notices_dir(workdir))
    return write_private(notice_path(workdir, dataset), text)


def publications(workdir: str | Path) -> list[Publication]:
    """Every recorded publication of a notice, oldest first."""
    path = notices_dir(workdir) / PUBLICATIONS_FILE
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            found.append(
                Publication(
                    dataset=raw["dataset"],
                    published_on=date.fromisoformat(raw["published_on"]),
                    sha256=raw["sha256"],
                    where=raw.get("where"),
                )
            )
    return found


def record_publication(
    workdir: str | Path, dataset: str, *, on: date, text: str, where: str | None = None
) -> Publication:
    """Record that the notice ``text`` of ``dataset`` was published on ``on`` (append-only)."""
    entry = Publication(dataset=dataset, published_on=on, sha256=text_sha256(text), where=where)
    private_dir(notices_dir(workdir))
    line = json.dumps(
        {
            "dataset": dataset,
            "published_on": on.isoformat(),
            "sha256": entry.sha256,
            "where": where,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    with open_private(notices_dir(workdir) / PUBLICATIONS_FILE, "a") as f:
        f.write(line + "\n")
    return entry


def notice_problem(workdir: str | Path, dataset: str, *, text: str, on: date) -> str | None:
    """Why ``dataset`` may not be provided on ``on`` for want of its notice (None: it may)."""
    digest = text_sha256(text)
    mine = [p for p in publications(workdir) if p.dataset == dataset]
    if not mine:
        return "no public notice recorded as published (anonrelease notice publish)"
    current = [p for p in mine if p.sha256 == digest]
    if not current:
        return (
            f"the notice published on {mine[-1].published_on} is not the one the configuration "
            "gives now (categories or method of provision changed): publish the new notice"
        )
    first = min(p.published_on for p in current)
    if first > on:
        return f"public notice published on {first}, after the provision date {on}"
    return None


def released_columns(
    dataset: str, *, quasi_identifiers: Sequence[str], sensitive: str | None
) -> list[str]:
    """The columns a notice lists for an anonymously processed dataset (QIs, then sensitive)."""
    if dataset != MICRODATA:
        raise LegalConfigError(f"{dataset}: not anonymously processed information; no notice")
    return [*quasi_identifiers, *([sensitive] if sensitive else [])]


def dataset_notice(
    dataset: str,
    *,
    quasi_identifiers: Sequence[str],
    sensitive: str | None,
    recipients: Sequence[Recipient],
    release_root: str,
) -> str:
    """The notice the configuration gives now for ``dataset`` (what must have been published)."""
    return notice_text(
        dataset,
        columns=released_columns(dataset, quasi_identifiers=quasi_identifiers, sensitive=sensitive),
        recipients=[r for r in recipients if r.allows(dataset)],
        release_root=release_root,
    )


def current_notices(
    *,
    quasi_identifiers: Sequence[str],
    sensitive: str | None,
    registry: PartnerRegistry,
    release_root: str,
) -> dict[str, str]:
    """Each anonymously processed dataset some recipient may receive, with its notice now."""
    return {
        dataset: dataset_notice(
            dataset,
            quasi_identifiers=quasi_identifiers,
            sensitive=sensitive,
            recipients=registry.recipients,
            release_root=release_root,
        )
        for dataset in anonymously_processed(DATASETS)
        if registry.allowed(dataset)
    }
