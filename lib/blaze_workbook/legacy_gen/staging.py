"""The simulator's truth in the shape of the Blaze staging tables (CONTRACTS.md §3).

This is what a full sync at the simulator's clock stores, column for column, so the manifest
can be computed by comparing the legacy tables against it. Every value follows the contract:
``name`` is ``firstName + ' ' + lastName`` with whitespace runs collapsed and trimmed (``''``
becomes NULL); epoch milliseconds become UTC instants; calendar dates (``last_visited``,
``date_joined``) are shop-local; ``date`` is ``completedTime``, else ``endTime``, else
``startTime``; ``shop_location`` and ``staff_name`` are the shop's and the employee's names;
``total_tax`` is ``cart.totalCalcTax``; a product's ``brand`` and ``category`` are its own names,
else the look-up's. Text is kept as Blaze sends it (``''`` stays ``''``).

Frames are keyed by the legacy table's name; items are in ``item_id`` order (the order the
compare's loaders read staged rows in, which fixes how repeated item keys pair).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

UTC = pl.Datetime("us", "UTC")


def instant(ms: pl.Expr) -> pl.Expr:
    """Epoch milliseconds -> a UTC instant (NULL stays NULL)."""
    return pl.from_epoch(ms, time_unit="ms").dt.replace_time_zone("UTC").cast(UTC)


def local_date(ms: pl.Expr, tz: str) -> pl.Expr:
    """Epoch milliseconds -> the calendar date in the shop's time zone."""
    return pl.from_epoch(ms, time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()


def person_name(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """``first + ' ' + last``, whitespace runs collapsed, trimmed; empty is NULL."""
    joined = pl.concat_str([first, last], separator=" ", ignore_nulls=True).str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(joined != "").then(joined)


def id_keys(column: str) -> list[pl.Expr]:
    """Sort keys that order 24-hex-digit Blaze ids as text would, as two integers (several
    times faster than comparing strings)."""
    c = pl.col(column)
    return [c.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64, strict=False), c.str.slice(16).str.to_integer(base=16, dtype=pl.UInt64, strict=False)]


def is_hex_ids(frame: pl.DataFrame, *columns: str) -> bool:
    return bool(frame.select(pl.all_horizontal(pl.col(c).str.contains(r"^[0-9a-f]{24}$").all() for c in columns)).item())


def by_id(frame: pl.DataFrame, *columns: str, first: tuple[str, ...] = ()) -> pl.DataFrame:
    """``frame`` sorted by ``first`` then by id columns in text order (see :func:`id_keys`)."""
    if not is_hex_ids(frame, *columns):
        return frame.sort([*first, *columns])
    return frame.sort([*(pl.col(f) for f in first), *(k for c in columns for k in id_keys(c))])


def _non_empty(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr != "").then(expr)


def customers(truth: Mapping[str, pl.DataFrame], tz: str) -> pl.DataFrame:
    m = truth["members"]
    return m.select(
        pl.col("id").alias("member_id"),
        person_name(pl.col("firstName"), pl.col("lastName")).alias("name"),
        pl.col("primaryPhone").alias("phone"),
        pl.col("email"),
        pl.col("address.address").alias("street_address"),
        pl.col("address.city").alias("city"),
        pl.col("address.state").alias("state"),
        pl.col("address.zipCode").alias("zip_code"),
        local_date(pl.col("lastVisitDate"), tz).alias("last_visited"),
        pl.col("loyaltyPoints").alias("loyalty_points"),
        pl.col("status").alias("customer_type"),
        pl.col("medical").alias("is_medical"),
        pl.col("textOptIn").alias("text_opt_in"),
        pl.col("emailOptIn").alias("email_opt_in"),
        pl.col("memberGroup.name").alias("member_group"),
        local_date(pl.col("startDate"), tz).alias("date_joined"),
        instant(pl.col("created")).alias("blaze_created"),
        instant(pl.col("modified")).alias("blaze_modified"),
        pl.col("deleted"),
    ).pipe(by_id, "member_id")


def employee_names(truth: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """``id, name`` of the employees (``firstName + ' ' + lastName``)."""
    return truth["employees"].select(pl.col("id"), person_name(pl.col("firstName"), pl.col("lastName")).alias("name"))


def transactions(truth: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    t = truth["transactions"]
    shops = truth["shop"].select(pl.col("id").alias("shopId"), pl.col("name").alias("shop_location"))
    staff = employee_names(truth).rename({"id": "sellerId", "name": "staff_name"})
    return (
        t.join(shops, on="shopId", how="left", maintain_order="left")
        .join(staff, on="sellerId", how="left", maintain_order="left")
        .select(
            pl.col("id").alias("transaction_id"),
            pl.col("memberId").alias("customer_id"),
            instant(pl.coalesce("completedTime", "endTime", "startTime")).alias("date"),
            pl.col("shopId").alias("shop_id"),
            pl.col("shop_location"),
            pl.col("sellerId").alias("seller_id"),
            pl.col("staff_name"),
            pl.col("terminalId").alias("terminal"),
            pl.col("cart.paymentOption").alias("payment_type"),
            pl.col("cart.total").alias("total_amount"),
            pl.col("cart.totalCalcTax").alias("total_tax"),
            pl.col("cart.totalDiscount").alias("discounts"),
            pl.col("pointsEarned").alias("loyalty_points_earned"),
            pl.col("cart.pointSpent").alias("loyalty_points_spent"),
            pl.col("status").alias("blaze_status"),
            pl.col("transType").alias("trans_type"),
            instant(pl.col("created")).alias("blaze_created"),
            instant(pl.col("modified")).alias("blaze_modified"),
            instant(pl.col("startTime")).alias("start_time"),
            instant(pl.col("endTime")).alias("end_time"),
            instant(pl.col("completedTime")).alias("completed_time"),
        )
        .pipe(by_id, "transaction_id")
    )


def transaction_items(truth: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    return truth["items"].select(
        pl.col("id").alias("item_id"),
        pl.col("transactionId").alias("transaction_id"),
        pl.col("productId").alias("product_id"),
        pl.col("productSku").alias("product_sku"),
        pl.col("productName").alias("product_name"),
        pl.col("brandName").alias("brand"),
        pl.col("categoryName").alias("category"),
        pl.col("quantity"),
        pl.col("unitPrice").alias("unit_price"),
        pl.col("finalPrice").alias("total_price"),
        pl.col("discount"),
        pl.col("discountType").alias("discount_type"),
        pl.col("calcTax").alias("tax"),
        pl.col("weightPerUnit").alias("weight_per_unit"),
        pl.col("status").alias("item_status"),
    ).pipe(by_id, "item_id")


def products(truth: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    p = truth["products"]
    brands = truth["brands"].select(pl.col("id").alias("brandId"), pl.col("name").alias("_brand"))
    cats = truth["categories"].select(pl.col("id").alias("categoryId"), pl.col("name").alias("_category"))
    vendors = truth["vendors"].select(pl.col("id").alias("vendorId"), pl.col("name").alias("vendor_name"))
    return (
        p.join(brands, on="brandId", how="left", maintain_order="left")
        .join(cats, on="categoryId", how="left", maintain_order="left")
        .join(vendors, on="vendorId", how="left", maintain_order="left")
        .select(
            pl.col("id").alias("product_id"),
            pl.col("sku"),
            pl.col("name"),
            pl.coalesce(_non_empty(pl.col("brandName")), pl.col("_brand"), pl.col("brandName")).alias("brand"),
            pl.coalesce(_non_empty(pl.col("category.name")), pl.col("_category"), pl.col("category.name")).alias("category"),
            pl.col("vendorId").alias("vendor"),
            pl.col("vendor_name"),
            pl.col("unitPrice").alias("retail_price"),
            pl.col("active").alias("is_active"),
            pl.col("thc").alias("thc_content"),
            pl.col("cbd").alias("cbd_content"),
            pl.col("thca"),
            pl.col("cbda"),
            pl.col("cbg"),
            pl.col("description"),
            pl.col("weightPerUnit").alias("weight_per_unit"),
            pl.col("unitValue").alias("unit_value"),
            pl.col("flowerType").alias("flower_type"),
            pl.col("assets[0].publicURL").alias("image_url"),
            instant(pl.col("created")).alias("blaze_created"),
            instant(pl.col("modified")).alias("blaze_modified"),
            pl.col("deleted"),
        )
        .pipe(by_id, "product_id")
    )


def staging_frames(truth: Mapping[str, pl.DataFrame], tz: str) -> dict[str, pl.DataFrame]:
    """Every staging table a full sync would hold, keyed by the legacy table's name."""
    return {
        "customers": customers(truth, tz),
        "transactions": transactions(truth),
        "transaction_items": transaction_items(truth),
        "products": products(truth),
    }


__all__ = ["by_id", "customers", "id_keys", "is_hex_ids", "employee_names", "instant", "local_date", "person_name", "products", "staging_frames", "transaction_items", "transactions"]
