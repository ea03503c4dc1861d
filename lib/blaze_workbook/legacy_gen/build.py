"""The legacy tables as the CSV reports left them, before anyone touched them by hand.

What the reports held, and why (``CONTRACTS.md`` §3 names the Blaze sources):

- the export ran at shop-local midnight starting ``export_date``: members created before it,
  transactions *processed* before it, values as they stood then (loyalty points summed from
  the transactions before it); the simulator's data is otherwise static, so everything else a
  member has is what Blaze still holds;
- ``transactions`` is the most recent ``n`` transactions before the export (older ones predate
  the first CSV import); ``date`` is ``completedTime`` (``endTime`` for cancelled and voided
  sales, which have none), ``shop_location`` and ``staff_name`` are names;
- ``transaction_items`` exist only for the most recent imports: the items of the latest
  transactions, newest first, until the target count (the oldest of them cut short); within a
  transaction they are listed in Blaze item id order; ``quantity`` is rounded half-up to an
  integer, ``total_price`` is ``finalPrice``;
- ``customers.name`` is ``firstName + ' ' + lastName`` printed as is (a stray blank in a first
  name stays), ``phone`` as Blaze holds it (the E.164 rewrite is an injection), and the derived
  fields are CONTRACTS.md §3's definitions computed at the export over the legacy's own
  transactions, ``avg_sale_value`` rounded to the cent;
- ``products`` are those created before the export; ``cost`` (not in the API) is 35–60 % of
  the retail price; ``strain`` is the flower's name without its weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from ..errors import ConfigurationError
from ..setup_sql import MetricsRules
from . import expected, staging
from .counts import Targets

DEC2 = pl.Decimal(18, 2)


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """A PCG64 stream per purpose, so one choice never shifts another."""
    salt = int.from_bytes(purpose.encode()[:16].ljust(16, b"\0"), "little")
    return np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, salt & 0xFFFFFFFF, salt >> 32 & 0xFFFFFFFF]))


def pick(rng: np.random.Generator, candidates: pl.Series, k: int, what: str) -> pl.Series:
    """``k`` of ``candidates`` (sorted first, so the choice depends only on the seed)."""
    frame = candidates.unique().to_frame("_c")
    pool = (staging.by_id(frame, "_c") if candidates.dtype == pl.String else frame.sort("_c"))["_c"]
    if k > len(pool):
        raise ConfigurationError(f"cannot inject {k} {what}: only {len(pool)} candidates in the data", hint=f"lower the count of {what!r} with counts=")
    if k <= 0:
        return pool.head(0)
    return pool.gather(np.sort(rng.choice(len(pool), k, replace=False)))


@dataclass
class Selection:
    """What the export saw, chosen from the truth."""

    cutoff_ms: int
    export_date: date
    #: staging-shaped transactions before the export, oldest first, with ``_processed``
    tx_before: pl.DataFrame
    #: the legacy's transactions (the newest ``n`` of ``tx_before``)
    tx: pl.DataFrame
    #: staging-shaped items of the legacy's item window, in legacy order
    items: pl.DataFrame
    #: members created before the export (truth columns)
    members: pl.DataFrame


def select(truth: Mapping[str, pl.DataFrame], stage: Mapping[str, pl.DataFrame], *, cutoff_ms: int, export_date: date, targets: Targets) -> Selection:
    """Transactions, items and members before the export, at the target sizes."""
    processed = truth["transactions"].select(pl.col("id").alias("transaction_id"), pl.col("processedTime").alias("_processed"))
    tx_before = (
        stage["transactions"].join(processed, on="transaction_id", how="left")
        .filter(pl.col("_processed") < cutoff_ms)
        .pipe(staging.by_id, "transaction_id", first=("_processed",))
    )  # fmt: skip
    n_tx = targets.transactions
    if n_tx > tx_before.height:
        if "transactions" in targets.strict:
            raise ConfigurationError(
                f"the simulator has {tx_before.height:,} transactions processed before the export date {export_date} "
                f"but the legacy database needs {n_tx:,}",
                hint="use a preset with more transactions (the seed preset needs about 197,500), a later export_date, or counts=",
            )
        n_tx = tx_before.height
    tx = tx_before.tail(n_tx)
    items = _item_window(stage["transaction_items"], tx, targets)
    members = truth["members"].filter(pl.col("created") < cutoff_ms)
    return Selection(cutoff_ms, export_date, tx_before, tx, items, members)


def _item_window(items: pl.DataFrame, tx: pl.DataFrame, targets: Targets) -> pl.DataFrame:
    """Items of the newest transactions until the target count; the oldest one cut short."""
    order = tx.select("transaction_id").with_row_index("_tx_order")
    per = items.group_by("transaction_id").agg(pl.len().alias("_n")).join(order, on="transaction_id").sort("_tx_order", descending=True)
    available = int(per["_n"].sum())
    n = targets.transaction_items
    if n > available:
        if "transaction_items" in targets.strict:
            raise ConfigurationError(f"the legacy transactions have {available:,} items but the legacy database needs {n:,}", hint="lower transaction_items with counts=")
        n = available
    per = per.with_columns(pl.col("_n").cum_sum().alias("_upto"))
    window = per.filter(pl.col("_upto") - pl.col("_n") < n)  # transactions whose items start before the target
    its = items.join(window.select("transaction_id", "_tx_order", "_upto", "_n"), on="transaction_id").pipe(staging.by_id, "item_id", first=("_tx_order",))
    # the oldest transaction of the window keeps only its first items (in item id order)
    rank = pl.int_range(pl.len(), dtype=pl.Int64).over("transaction_id")
    keep = pl.col("_upto") - pl.col("_n") + rank < n
    return its.filter(keep).drop("_tx_order", "_upto", "_n")


def loyalty_at(truth: Mapping[str, pl.DataFrame], cutoff_ms: int) -> pl.DataFrame:
    """``member_id, loyalty_points`` as of the export: points earned minus spent before it."""
    t = truth["transactions"].filter(pl.col("processedTime") < cutoff_ms)
    return t.group_by(pl.col("memberId").alias("member_id")).agg((pl.col("pointsEarned").sum() - pl.col("cart.pointSpent").sum()).cast(DEC2).alias("loyalty_points"))


def customers(sel: Selection, truth: Mapping[str, pl.DataFrame], tx: pl.DataFrame, *, tz: str, rules: MetricsRules, fabricated: pl.DataFrame) -> pl.DataFrame:
    """The customers report: ``sel.members`` (minus the dropped) plus ``fabricated`` rows.

    ``tx`` is the legacy's transactions (after re-pointing), the view the derived fields were
    computed from at the export. ``fabricated`` has the report's text columns and ``created``.
    """
    m = sel.members
    base = m.select(
        pl.col("id").alias("member_id"),
        pl.concat_str([pl.col("firstName"), pl.col("lastName")], separator=" ", ignore_nulls=True).alias("name"),
        pl.col("primaryPhone").alias("phone"),
        pl.col("email"),
        pl.col("address.address").alias("street_address"),
        pl.col("address.city").alias("city"),
        pl.col("address.state").alias("state"),
        pl.col("address.zipCode").alias("zip_code"),
        pl.col("status").alias("customer_type"),
        pl.col("memberGroup.name").alias("member_group"),
        pl.col("marketingSource").alias("marketing_source"),
        staging.local_date(pl.col("startDate"), tz).alias("date_joined"),
    ).join(loyalty_at(truth, sel.cutoff_ms), on="member_id", how="left", maintain_order="left")
    base = base.with_columns(pl.col("loyalty_points").fill_null(pl.lit(0, dtype=DEC2)))
    rows = pl.concat([base, fabricated.select(base.columns).cast(base.schema)])
    metrics = expected.derived(rows["member_id"], tx, as_of=sel.export_date, tz=tz, rules=rules, avg_in_cents=True)
    return rows.join(metrics, on="member_id", how="left", maintain_order="left").with_columns(
        pl.col("gross_sales", "gross_refunds", "lifetime_value", "avg_sale_value").cast(DEC2)
    )


def transactions(tx: pl.DataFrame) -> pl.DataFrame:
    """The transactions report (legacy columns only)."""
    return tx.select(
        "transaction_id", "customer_id", "date", "shop_location", "staff_name", "terminal", "payment_type",
        "total_amount", "total_tax", "discounts", "loyalty_points_earned", "loyalty_points_spent",
    )  # fmt: skip


def transaction_items(items: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """The items report: quantities rounded half-up, product facts beside each line."""
    facts = products.select("product_id", "strain", "flower_type", "thc_content", "cbd_content")
    q = (pl.col("quantity").cast(pl.Decimal(18, 3)) * 1000).cast(pl.Int64)
    return items.join(facts, on="product_id", how="left", maintain_order="left").select(
        "transaction_id", "product_id", "product_sku", "product_name", "brand", "category", "strain", "flower_type",
        ((q + 500) // 1000).alias("quantity"), "unit_price", "total_price", "thc_content", "cbd_content",
    )  # fmt: skip


def products(stage_products: pl.DataFrame, truth: Mapping[str, pl.DataFrame], cutoff_ms: int, seed: int) -> pl.DataFrame:
    """The products report: those created before the export."""
    created = truth["products"].select(pl.col("id").alias("product_id"), pl.col("created").alias("_created"))
    p = stage_products.join(created, on="product_id", how="left").filter(pl.col("_created") < cutoff_ms).sort("_created", "product_id")
    share = rng_for(seed, "product_cost").integers(35, 61, p.height)
    cents = (pl.col("retail_price").cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64)
    return p.with_columns(
        pl.when(pl.col("flower_type").is_not_null()).then(pl.col("name").str.replace(r"\s+\S*\d\S*.*$", "")).alias("strain"),
        (((cents * pl.Series(share, dtype=pl.Int64) + 50) // 100).cast(DEC2) / 100).cast(DEC2).alias("cost"),
    ).select(
        "product_id", "sku", "name", "brand", "category", "strain", "flower_type", "vendor", "thc_content",
        "cbd_content", "retail_price", "cost", "is_active", "image_url",
    )  # fmt: skip


__all__ = ["Selection", "customers", "loyalty_at", "pick", "products", "rng_for", "select", "transaction_items", "transactions"]
