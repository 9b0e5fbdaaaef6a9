from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.sources.extract import ExtractError, extract_all
from pipeline.sources.schema import SOURCE_TABLES
from transforms.errors import ConfigurationError, TransientError
from transforms.parse import UNDECODABLE_COLUMN


def _make_source(path: Path, *, drop_table: str | None = None, drop_column=None) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table, columns in SOURCE_TABLES.items():
            if table == drop_table:
                continue
            cols = [c for c in columns if (table, c) != drop_column]
            conn.execute(sa.text(f"CREATE TABLE {table} ({', '.join(cols)})"))
        conn.execute(
            sa.text("INSERT INTO stores VALUES (2, 'B', '大阪府', '大阪市', '2020-01-01')")
        )
        conn.execute(sa.text("INSERT INTO stores VALUES (1, 'A', '東京都', NULL, '2019-01-01')"))
    engine.dispose()
    return url


def test_extract_snapshots_every_table_as_text_ordered_by_key(tmp_path: Path) -> None:
    url = _make_source(tmp_path / "src.sqlite")
    out = tmp_path / "raw"
    out.mkdir()
    snapshots = extract_all(url, out)
    assert {s.table for s in snapshots} == set(SOURCE_TABLES)
    stores = pd.read_parquet(out / "stores.parquet")
    assert stores["store_id"].tolist() == ["1", "2"]
    assert stores["city"].isna().tolist() == [True, False]
    assert pd.read_parquet(out / "customers.parquet").empty


def test_missing_database_is_named_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(ExtractError, match=r"source database not found: .*nope\.sqlite"):
        extract_all(f"sqlite:///{missing}", tmp_path)
    assert not missing.exists()


def test_missing_table_is_named(tmp_path: Path) -> None:
    url = _make_source(tmp_path / "src.sqlite", drop_table="consents")
    with pytest.raises(ExtractError, match="source table\\(s\\) missing: consents"):
        extract_all(url, tmp_path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    url = _make_source(tmp_path / "src.sqlite", drop_column=("customers", "birth_date"))
    with pytest.raises(ExtractError, match="'customers' lacks column\\(s\\): birth_date"):
        extract_all(url, tmp_path)


def _insert_bytes(url: str, table: str, values: dict[str, object]) -> None:
    """Write raw values (bytes as SQLite TEXT, the way a careless client does)."""
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    names = list(values)
    params = [v for v in values.values()]
    marks = ", ".join("CAST(? AS TEXT)" if isinstance(v, bytes) else "?" for v in params)
    conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", params)
    conn.commit()
    conn.close()


def test_text_that_is_not_utf8_is_kept_escaped_and_its_fields_named(tmp_path: Path) -> None:
    url = _make_source(tmp_path / "src.sqlite")
    sjis = "佐藤 sjis.leak@example.com".encode("shift_jis")
    _insert_bytes(
        url, "stores", {"store_id": 3, "store_name": sjis, "city": b"ok", "prefecture": b"\xff"}
    )
    out = tmp_path / "raw"
    out.mkdir()
    extract_all(url, out)  # the night goes on: no error at extract
    stores = pd.read_parquet(out / "stores.parquet")
    row = stores.set_index("store_id").loc["3"]
    assert row[UNDECODABLE_COLUMN] == "store_name,prefecture"
    assert row["city"] == "ok"
    assert row["store_name"] == sjis.decode("utf-8", errors="backslashreplace")
    assert stores.set_index("store_id").loc[["1", "2"], UNDECODABLE_COLUMN].isna().all()


@pytest.mark.parametrize(
    "content",
    [b"MARKER-file-42 is not a database\n" * 200, None],
    ids=["not sqlite", "truncated"],
)
def test_a_broken_database_file_is_named_and_its_content_never_quoted(
    tmp_path: Path, content: bytes | None
) -> None:
    good = tmp_path / "good.sqlite"
    url = _make_source(good)
    _insert_bytes(url, "stores", {"store_id": 9, "store_name": "MARKER-file-42"})
    broken = tmp_path / "broken.sqlite"
    data = good.read_bytes()
    broken.write_bytes(content if content is not None else data[: len(data) // 2])
    with pytest.raises(ExtractError) as err:
        extract_all(f"sqlite:///{broken}", tmp_path)
    assert str(broken) in str(err.value)
    assert "MARKER" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no quoting cause


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("foo+bar://alice:SECRET@host/salon", "'foo+bar'"),
        ("mysql+nosuchdriver://alice:SECRET@host/salon", "'mysql+nosuchdriver'"),
        ("not a url with SECRET", "not a database URL"),
    ],
)
def test_a_url_no_driver_can_open_is_a_configuration_error(
    tmp_path: Path, url: str, named: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        extract_all(url, tmp_path)
    assert named in str(err.value)
    assert "SECRET" not in str(err.value)


def test_an_unreachable_server_is_transient_and_its_password_never_shown(tmp_path: Path) -> None:
    url = "postgresql+psycopg://alice:SECRET@127.0.0.1:1/salon?connect_timeout=2"
    with pytest.raises(TransientError) as err:
        extract_all(url, tmp_path)
    assert "alice:***@127.0.0.1:1/salon" in str(err.value)
    assert "SECRET" not in str(err.value)
