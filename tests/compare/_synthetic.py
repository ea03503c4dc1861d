"""Seeded synthetic existing/Blaze frames of any size, for speed checks (no Python row loops)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl


def _frame(columns: dict) -> pl.DataFrame:
    """A frame from Series, scalars and literal expressions (broadcast)."""
    plain = {k: v for k, v in columns.items() if not isinstance(v, pl.Expr)}
    exprs = {k: v for k, v in columns.items() if isinstance(v, pl.Expr)}
    return pl.DataFrame(plain).with_columns(**exprs).select(list(columns))

STATUSES = ["Completed", "Completed", "Completed", "Completed", "RefundWithInventory", "Canceled"]


def frames(customers: int = 10_000, transactions: int = 186_000, items_per_tx: float = 2.5, products: int = 1_500, seed: int = 0):
    """``(existing, blaze)`` dicts of frames shaped like the legacy tables and the staging tables."""
    rng = np.random.default_rng(seed)
    mid = pl.Series("member_id", [f"m{i:07d}" for i in range(customers)])
    digits = rng.integers(2_000_000_000, 9_999_999_999, customers).astype(str)
    phone = pl.Series(digits)
    b_c = _frame(
        {
            "member_id": mid,
            "name": pl.Series([f"First{i % 997} Last{i % 991}" for i in range(customers)]),
            "phone": phone,
            "email": pl.Series([f"user{i}@example.com" for i in range(customers)]),
            "street_address": pl.Series([f"{i} Main St" for i in range(customers)]),
            "city": pl.Series(["Oakland", "Berkeley"] * (customers // 2) + ["Oakland"] * (customers % 2)),
            "state": "CA",
            "zip_code": "94607",
            "last_visited": None,
            "loyalty_points": pl.Series(rng.integers(0, 500, customers)).cast(pl.Decimal(38, 2)),
            "customer_type": "Active",
            "member_group": "Default",
            "date_joined": pl.Series([datetime(2020, 1, 1).date()] * customers),
        }
    )
    flip = rng.random(customers)
    e_c = b_c.with_columns(
        phone=pl.when(pl.Series(flip < 0.3)).then(pl.concat_str(pl.lit("+1"), pl.col("phone"))).otherwise(pl.col("phone")),
        email=pl.when(pl.Series(flip > 0.95)).then(pl.col("email").str.to_uppercase()).otherwise(pl.col("email")),
        total_visits=pl.lit(3, dtype=pl.Int64),
        total_sales=pl.lit(3, dtype=pl.Int64),
        total_refunds=pl.lit(0, dtype=pl.Int64),
        gross_sales=pl.lit(100, dtype=pl.Decimal(38, 2)),
        gross_refunds=pl.lit(0, dtype=pl.Decimal(38, 2)),
        avg_sale_value=pl.lit(33.33, dtype=pl.Float64).cast(pl.Decimal(38, 2)),
        lifetime_value=pl.lit(100, dtype=pl.Decimal(38, 2)),
        vip_status=pl.lit("Casual"),
        churn_risk=pl.lit("Low"),
        days_since_last_visit=pl.lit(10, dtype=pl.Int64),
        last_visited=pl.lit(datetime(2024, 1, 1).date()),
    ).drop("customer_type").with_columns(customer_type=pl.lit("Active"))
    start = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1e6)
    tx_ids = pl.Series("transaction_id", [f"t{i:08d}" for i in range(transactions)])
    cust = mid.gather(rng.integers(0, customers, transactions))
    b_t = _frame(
        {
            "transaction_id": tx_ids,
            "customer_id": cust,
            "date": pl.Series(start + rng.integers(0, 365 * 86_400, transactions) * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "shop_location": "Main",
            "staff_name": "Pat Doe",
            "terminal": "T1",
            "payment_type": "Cash",
            "total_amount": pl.Series(rng.integers(100, 20_000, transactions) / 100).cast(pl.Decimal(38, 2)),
            "total_tax": pl.Series(rng.integers(0, 2_000, transactions) / 100).cast(pl.Decimal(38, 2)),
            "discounts": pl.lit(0, dtype=pl.Decimal(38, 2)),
            "loyalty_points_earned": pl.lit(1, dtype=pl.Decimal(38, 2)),
            "loyalty_points_spent": pl.lit(0, dtype=pl.Decimal(38, 2)),
            "blaze_status": pl.Series(STATUSES).gather(rng.integers(0, len(STATUSES), transactions)),
            "trans_type": "Sale",
        }
    ).with_columns(trans_type=pl.when(pl.col("blaze_status").str.starts_with("Refund")).then(pl.lit("Refund")).otherwise(pl.lit("Sale")))
    e_t = b_t.drop("blaze_status", "trans_type").with_columns(
        total_amount=pl.when(pl.Series(rng.random(transactions) < 0.01)).then(pl.col("total_amount") + pl.lit(1, dtype=pl.Decimal(38, 2))).otherwise(pl.col("total_amount"))
    )
    n_items = int(transactions * items_per_tx)
    prod_ids = pl.Series("product_id", [f"p{i:06d}" for i in range(products)])
    b_p = _frame(
        {
            "product_id": prod_ids,
            "sku": prod_ids.str.replace("p", "SKU"),
            "name": prod_ids.str.replace("p", "Product "),
            "brand": "Brand",
            "category": "Flower",
            "vendor": "v1",
            "retail_price": pl.lit(20, dtype=pl.Decimal(38, 2)),
            "is_active": True,
            "thc_content": pl.lit(21.5).cast(pl.Decimal(38, 2)),
            "cbd_content": pl.lit(0.1).cast(pl.Decimal(38, 2)),
            "flower_type": "Hybrid",
            "image_url": None,
        }
    ).with_columns(pl.col("image_url").cast(pl.String))
    e_p = b_p.with_columns(cost=pl.lit(5))
    b_i = _frame(
        {
            "item_id": pl.Series([f"i{i:09d}" for i in range(n_items)]),
            "transaction_id": tx_ids.gather(np.sort(rng.integers(0, transactions, n_items))),
            "product_id": prod_ids.gather(rng.integers(0, products, n_items)),
            "product_sku": "SKU",
            "product_name": "Product",
            "brand": "Brand",
            "category": "Flower",
            "quantity": pl.Series(rng.integers(1, 4, n_items)).cast(pl.Decimal(38, 4)),
            "unit_price": pl.lit(10, dtype=pl.Decimal(38, 2)),
            "total_price": pl.Series(rng.integers(100, 5_000, n_items) / 100).cast(pl.Decimal(38, 2)),
        }
    )
    e_i = b_i.drop("item_id").with_columns(id=pl.int_range(pl.len()), quantity=pl.col("quantity").cast(pl.Int64))
    existing = {"customers": e_c, "transactions": e_t, "transaction_items": e_i, "products": e_p}
    blaze = {"customers": b_c, "transactions": b_t, "transaction_items": b_i, "products": b_p}
    return existing, blaze
