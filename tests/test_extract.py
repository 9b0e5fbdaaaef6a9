from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.sources.extract import ExtractError, extract_all
from pipeline.sources.schema import SOURCE_TABLES


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
