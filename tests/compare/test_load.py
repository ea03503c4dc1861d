"""Thin loaders without a database: folders of exports and the warehouse protocol.

The Postgres loaders are exercised in ``test_postgres_compare.py``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from blaze_workbook.compare import from_folder, staging_from_warehouse
from blaze_workbook.errors import ConfigurationError
from blaze_workbook.mapping import TABLES


def test_from_folder_prefers_parquet_and_reads_csv_as_text(tmp_path: Path):
    pl.DataFrame({"product_id": ["p1"], "retail_price": [1.5]}).write_parquet(tmp_path / "products.parquet")
    pl.DataFrame({"product_id": ["p2"]}).write_csv(tmp_path / "products.csv")  # ignored: parquet wins
    (tmp_path / "customers.csv").write_text('member_id,loyalty_points,email\nm1,12.50,""\nm2,,\n')
    frames = from_folder(tmp_path)
    assert set(frames) == {"products", "customers"}
    assert frames["products"].collect()["product_id"].to_list() == ["p1"]
    customers = frames["customers"].collect()
    assert customers.schema["loyalty_points"] == pl.String  # typed later, by the rules
    assert customers["email"].to_list() == ["", None]  # '' and NULL stay apart


def test_from_folder_staging_names(tmp_path: Path):
    pl.DataFrame({"product_id": ["p1"]}).write_parquet(tmp_path / "products_blaze_staging.parquet")
    assert list(from_folder(tmp_path, staging=True)) == ["products"]
    with pytest.raises(ConfigurationError, match="no <table>"):
        from_folder(tmp_path)
    with pytest.raises(ConfigurationError, match="not a folder"):
        from_folder(tmp_path / "nope")


def test_staging_from_warehouse_asks_for_every_table():
    class Warehouse:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def staging_frame(self, table):
            self.asked.append(table.staging)
            return pl.DataFrame({table.key: ["x"]})

    w = Warehouse()
    frames = staging_from_warehouse(w)
    assert list(frames) == [t.legacy for t in TABLES]
    assert w.asked == [t.staging for t in TABLES]
    assert list(staging_from_warehouse(w, tables=["products"])) == ["products"]
