"""The dictionary of common Japanese personal names used by the direct-identifier scan.

The shipped file ``data/names/ja_person_names.json`` is generated from Faker's ``ja_JP`` person
provider (MIT licensed; family and given names with their katakana readings and romanization),
so the scan recognizes the same names the demo generator writes. Hiragana readings are derived
from the katakana. Regenerate with ``python -m expectations.names`` after a Faker upgrade; a
test keeps the file and the generator in step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NAMES_FILE = Path(__file__).resolve().parents[1] / "data" / "names" / "ja_person_names.json"


@dataclass(frozen=True)
class NameDictionary:
    """Family and given names, each as written in kanji, katakana and hiragana."""

    family: frozenset[str]
    given: frozenset[str]


def _hiragana(katakana: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in katakana)


def build_name_dictionary() -> dict[str, object]:
    """The file's content, built from Faker's ja_JP person provider."""
    from faker.providers.person.ja_JP import Provider

    def entries(pairs: object) -> list[dict[str, str]]:
        return [
            {"kanji": kanji, "katakana": kana, "hiragana": _hiragana(kana), "romaji": romaji}
            for kanji, kana, romaji in pairs  # type: ignore[attr-defined]
        ]

    return {
        "source": "Faker ja_JP person provider (faker.providers.person.ja_JP), MIT License",
        "family": entries(Provider.last_name_pairs),
        "given": entries(Provider.first_name_pairs),
    }


@cache
def load_name_dictionary(path: Path = NAMES_FILE) -> NameDictionary:
    """Load the shipped dictionary (kanji and kana forms; romaji is kept for reference only)."""
    raw = json.loads(path.read_text(encoding="utf-8"))

    def forms(entries: list[dict[str, str]]) -> frozenset[str]:
        return frozenset(e[key] for e in entries for key in ("kanji", "katakana", "hiragana"))

    return NameDictionary(family=forms(raw["family"]), given=forms(raw["given"]))


def write_name_dictionary(path: Path = NAMES_FILE) -> None:
    """Regenerate the shipped file from Faker."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(build_name_dictionary(), ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_name_dictionary()
