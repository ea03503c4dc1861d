"""Differences nobody injected: what time and the reports' own habits put between the sides.

- rows Blaze has and the legacy lacks: members who joined, transactions processed and products
  created after the export; transactions older than the first import; items of transactions
  whose import carried none;
- ``customers.loyalty_points``: the legacy holds the points at the export, Blaze today's;
- ``transaction_items.quantity``: the reports rounded to integers, so a fractional Blaze quantity
  differs (``real``: rounding is not a normalisation);
- the derived customer fields: stale by construction; their expected kinds come from computing
  both sides (:mod:`.expected`), so here they are only labelled.
"""

from __future__ import annotations

import polars as pl

from ..mapping import DERIVED_FIELDS
from .build import Selection
from .discrepancies import book


def rows_book(sel: Selection, stage: dict[str, pl.DataFrame], truth: dict[str, pl.DataFrame], legacy_products: pl.DataFrame, window: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """only_blaze rows that are no injection's doing; ``keys``: ``item_id, _key`` of the Blaze items."""
    tx = stage["transactions"].filter(~pl.col("transaction_id").is_in(sel.tx["transaction_id"].implode()))
    processed = truth["transactions"].select(pl.col("id").alias("transaction_id"), pl.col("processedTime"))
    tx = tx.join(processed, on="transaction_id", how="left")
    after = tx.filter(pl.col("processedTime") >= sel.cutoff_ms)["transaction_id"]
    before = tx.filter(pl.col("processedTime") < sel.cutoff_ms)["transaction_id"]
    missing = keys.filter(~pl.col("item_id").is_in(window["item_id"].implode()))["_key"]
    products = stage["products"].filter(~pl.col("product_id").is_in(legacy_products["product_id"].implode()))["product_id"]
    return pl.concat([
        book("transactions", after, None, "only_blaze", "processed_after_export", False),
        book("transactions", before, None, "only_blaze", "before_first_import", False),
        book("transaction_items", missing, None, "only_blaze", "items_not_imported", False),
        book("products", products, None, "only_blaze", "created_after_export", False),
    ])  # fmt: skip


def values_book(legacy_customers: pl.DataFrame, stage: dict[str, pl.DataFrame], window: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Loyalty points moved since the export; quantities the reports rounded."""
    pts = legacy_customers.select("member_id", pl.col("loyalty_points").cast(pl.Decimal(38, 10)).alias("_e")).join(
        stage["customers"].select("member_id", pl.col("loyalty_points").cast(pl.Decimal(38, 10)).alias("_b")), on="member_id"
    )
    moved = pts.filter(pl.col("_e") != pl.col("_b"))["member_id"]
    kept = window.filter(pl.col("product_id").is_not_null()).select("item_id", "quantity")
    fractional = keys.join(kept, on="item_id").filter((pl.col("quantity").cast(pl.Decimal(18, 3)) * 1000).cast(pl.Int64) % 1000 != 0)["_key"]
    return pl.concat([
        book("customers", moved, "loyalty_points", "real", "loyalty_since_export", False),
        book("transaction_items", fractional, "quantity", "real", "quantity_rounded", True),
    ])  # fmt: skip


def derived_book(computed_rows: pl.DataFrame) -> pl.DataFrame:
    """The computed differences of the derived customer fields, labelled stale."""
    d = computed_rows.filter((pl.col("table") == "customers") & pl.col("field").is_in(list(DERIVED_FIELDS)))
    return d.select("table", "key", "field", "kind", pl.lit("derived_stale").alias("cause"), pl.lit(True).alias("injected"))


__all__ = ["derived_book", "rows_book", "values_book"]
