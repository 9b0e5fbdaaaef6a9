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
- and, for every dataset, the data dictionary (:func:`dictionary_frame`, Japanese and English).

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
from pipeline.settings.storage import open_private, private_dir, write_private
from transforms.errors import ConfigurationError

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


class LegalTexts(BaseModel):
    """``data/legal/legal.yaml``, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    legal_basis: Bilingual
    datasets: dict[str, DatasetText]
    columns: dict[str, ColumnText]
    no_description: Bilingual
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
