"""The statement of anonymously processed information is delivered in the recipient's encoding
(pipeline/steps/publish.py delivery, pipeline/release/formats.py encode_text)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.release.formats import BOM, FormatError, encode_text
from pipeline.release.legal import STATEMENT_FILE, statement_text
from pipeline.release.publish import publish_release, verify_release
from pipeline.settings.partners import Recipient, load_partners
from pipeline.steps.publish import delivery

SERIES = "customers_microdata@monthly"
MICRO = "customers_microdata"
COLUMNS = ["age", "gender", "postal_code", "main_course"]
ROWS = "age,gender,postal_code,main_course\n30-39,F,関東,facial\n40-49,M,近畿,nail\n"


def _recipient(file_format: str, **changes: str) -> Recipient:
    base = load_partners().get("partner-cosmetics")
    return base.model_copy(update={"format": file_format, **changes})


def _delivery(tmp_path: Path, recipient: Recipient) -> dict[str, bytes]:
    candidates = tmp_path / "candidates"
    candidates.mkdir(exist_ok=True)
    (candidates / f"{SERIES}.csv").write_text(ROWS, encoding="utf-8")
    files, _ = delivery(
        recipient,
        [SERIES],
        candidates=candidates,
        parameters={SERIES: {"transformation": {"age": 2, "gender": 0, "postal_code": 2}}},
        purposes={},
        root=str(tmp_path / "releases"),
        catalogue={},
    )
    return files


def _expected(recipient: Recipient, suffix: str, tmp_path: Path) -> str:
    return statement_text(
        files=[f"{MICRO}{suffix}"],
        columns=COLUMNS,
        agreement=recipient.agreement,
        destination=str(tmp_path / "releases"),
    )


def test_a_cp932_recipient_gets_a_cp932_statement_that_round_trips(tmp_path: Path) -> None:
    recipient = _recipient("csv-cp932")
    files = _delivery(tmp_path, recipient)
    raw = files[STATEMENT_FILE]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # Japanese text in Shift_JIS is not valid UTF-8
    text = raw.decode("cp932")
    assert text == _expected(recipient, ".csv", tmp_path)
    assert "匿名加工情報である旨の明示" in text and "第45条" in text
    # The dictionary goes in the same encoding.
    dictionary = pd.read_csv(io.BytesIO(files[f"{MICRO}.dictionary.csv"]), encoding="cp932")
    assert dictionary["meaning_ja"].str.contains("年齢").any()
    # The manifest hashes the delivered bytes, and the folder verifies.
    release = publish_release(
        release_root=str(tmp_path / "releases"),
        recipient=recipient.id,
        run_id="2026-11-24",
        files=files,
        profile={},
        signing_key=Ed25519PrivateKey.generate(),
        file_format="csv-cp932",
    )
    manifest = verify_release(release.folder)
    entry = next(f for f in manifest["files"] if f["name"] == STATEMENT_FILE)
    on_disk = (Path(release.folder) / STATEMENT_FILE).read_bytes()
    assert on_disk == raw and entry["sha256"] == hashlib.sha256(raw).hexdigest()
    assert entry["bytes"] == len(raw)


@pytest.mark.parametrize(
    ("file_format", "suffix", "prefix", "codec"),
    [
        ("csv-utf8", ".csv", b"", "utf-8"),
        ("csv-utf8-bom", ".csv", BOM, "utf-8"),
        ("parquet", ".parquet", b"", "utf-8"),
    ],
)
def test_other_recipients_get_their_own_encoding(
    tmp_path: Path, file_format: str, suffix: str, prefix: bytes, codec: str
) -> None:
    recipient = _recipient(file_format)
    raw = _delivery(tmp_path, recipient)[STATEMENT_FILE]
    assert raw.startswith(prefix) and not raw[len(prefix) :].startswith(BOM)
    assert raw[len(prefix) :].decode(codec) == _expected(recipient, suffix, tmp_path)


def test_a_character_cp932_cannot_hold_fails_naming_the_file_not_the_character(
    tmp_path: Path,
) -> None:
    agreement = "AG-2026-099 (𠮷田商事との共同分析)"
    with pytest.raises(FormatError) as err:
        _delivery(tmp_path, _recipient("csv-cp932", agreement=agreement))
    assert STATEMENT_FILE in str(err.value) and "csv-cp932" in str(err.value)
    assert "𠮷" not in str(err.value) and "AG-2026-099" not in str(err.value)
    # The same agreement in UTF-8 is delivered as written.
    raw = _delivery(tmp_path, _recipient("csv-utf8-bom", agreement=agreement))[STATEMENT_FILE]
    assert agreement in raw.decode("utf-8-sig")


def test_encode_text_is_strict_for_cp932_and_exact_otherwise() -> None:
    assert encode_text("明示\n", "csv-cp932", name="x.txt") == "明示\n".encode("cp932")
    assert encode_text("明示\n", "csv-utf8", name="x.txt") == "明示\n".encode()
    assert encode_text("明示\n", "csv-utf8-bom", name="x.txt") == BOM + "明示\n".encode()
    with pytest.raises(FormatError, match=r"^x\.txt: "):
        encode_text("\u2460\u0300", "csv-cp932", name="x.txt")  # a combining mark: not in cp932


def test_every_shipped_legal_text_fits_cp932() -> None:
    """Our own texts never stop a cp932 recipient's delivery (only a registry's may)."""
    text = (Path(__file__).resolve().parents[1] / "data" / "legal" / "legal.yaml").read_text(
        encoding="utf-8"
    )
    text.encode("cp932")
