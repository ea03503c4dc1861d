"""The simulator's truth mapped to the staging tables of CONTRACTS §3, independently of the sync code.

Written from the contract's mapping table, not from ``mapping.py``: ``name`` is first + ' ' +
last, trimmed, whitespace collapsed; calendar dates are shop-local; ``total_tax`` is
``cart.totalCalcTax``; ``date`` is ``completedTime`` else ``endTime`` else ``startTime``;
``staff_name``, ``shop_location``, ``vendor_name`` and missing brands/categories come from the
look-ups; money stays an exact ``Decimal``. Comparison is cell by cell; a Blaze empty string may
be stored as ``''`` or NULL (the contract allows both), numbers compare as exact decimals.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
from psycopg import sql

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TZ = "America/Los_Angeles"
KEYS = {"customers": "member_id", "transactions": "transaction_id", "transaction_items": "item_id", "products": "product_id"}
STAGING = {k: f"{k}_blaze_staging" for k in KEYS}


def instant(ms: int | None) -> datetime | None:
    return None if ms is None else EPOCH + timedelta(milliseconds=int(ms))


def local(ms: int | None, tz: str = TZ) -> date | None:
    return None if ms is None else instant(ms).astimezone(ZoneInfo(tz)).date()


def person(first: str | None, last: str | None) -> str | None:
    joined = re.sub(r"\s+", " ", f"{first or ''} {last or ''}").strip()
    return joined or None


def expected(truth: dict[str, pl.DataFrame], tz: str = TZ) -> dict[str, dict[str, dict[str, Any]]]:
    """Staging table -> key -> row (column -> value) as a full sync of ``truth`` must store it."""
    shop = {r["id"]: r["name"] for r in truth["shop"].to_dicts()}
    staff = {r["id"]: person(r["firstName"], r["lastName"]) for r in truth["employees"].to_dicts()}
    vendors = {r["id"]: r["name"] for r in truth["vendors"].to_dicts()}
    brands = {r["id"]: r["name"] for r in truth["brands"].to_dicts()}
    categories = {r["id"]: r["name"] for r in truth["categories"].to_dicts()}
    out: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KEYS}
    for m in truth["members"].to_dicts():
        out["customers"][m["id"]] = {
            "member_id": m["id"], "name": person(m["firstName"], m["lastName"]), "phone": m["primaryPhone"],
            "email": m["email"], "street_address": m["address.address"], "city": m["address.city"],
            "state": m["address.state"], "zip_code": m["address.zipCode"], "last_visited": local(m["lastVisitDate"], tz),
            "loyalty_points": m["loyaltyPoints"], "customer_type": m["status"], "is_medical": m["medical"],
            "text_opt_in": m["textOptIn"], "email_opt_in": m["emailOptIn"], "member_group": m["memberGroup.name"],
            "date_joined": local(m["startDate"], tz), "blaze_created": instant(m["created"]),
            "blaze_modified": instant(m["modified"]), "deleted": m["deleted"],
        }
    for t in truth["transactions"].to_dicts():
        when = next((t[k] for k in ("completedTime", "endTime", "startTime") if t[k] is not None), None)
        out["transactions"][t["id"]] = {
            "transaction_id": t["id"], "customer_id": t["memberId"], "date": instant(when), "shop_id": t["shopId"],
            "shop_location": shop.get(t["shopId"]), "seller_id": t["sellerId"], "staff_name": staff.get(t["sellerId"]),
            "terminal": t["terminalId"], "payment_type": t["cart.paymentOption"], "total_amount": t["cart.total"],
            "total_tax": t["cart.totalCalcTax"], "discounts": t["cart.totalDiscount"],
            "loyalty_points_earned": t["pointsEarned"], "loyalty_points_spent": t["cart.pointSpent"],
            "blaze_status": t["status"], "trans_type": t["transType"], "blaze_created": instant(t["created"]),
            "blaze_modified": instant(t["modified"]), "start_time": instant(t["startTime"]),
            "end_time": instant(t["endTime"]), "completed_time": instant(t["completedTime"]),
        }
    for i in truth["items"].to_dicts():
        out["transaction_items"][i["id"]] = {
            "item_id": i["id"], "transaction_id": i["transactionId"], "product_id": i["productId"],
            "product_sku": i["productSku"], "product_name": i["productName"], "brand": i["brandName"],
            "category": i["categoryName"], "quantity": i["quantity"], "unit_price": i["unitPrice"],
            "total_price": i["finalPrice"], "discount": i["discount"], "discount_type": i["discountType"],
            "tax": i["calcTax"], "weight_per_unit": i["weightPerUnit"], "item_status": i["status"],
        }
    for p in truth["products"].to_dicts():
        out["products"][p["id"]] = {
            "product_id": p["id"], "sku": p["sku"], "name": p["name"],
            "brand": p["brandName"] or brands.get(p["brandId"]),
            "category": p["category.name"] or categories.get(p["categoryId"]), "vendor": p["vendorId"],
            "vendor_name": vendors.get(p["vendorId"]), "retail_price": p["unitPrice"], "is_active": p["active"],
            "thc_content": p["thc"], "cbd_content": p["cbd"], "thca": p["thca"], "cbda": p["cbda"], "cbg": p["cbg"],
            "description": p["description"], "weight_per_unit": p["weightPerUnit"], "unit_value": p["unitValue"],
            "flower_type": p["flowerType"], "image_url": p["assets[0].publicURL"],
            "blaze_created": instant(p["created"]), "blaze_modified": instant(p["modified"]), "deleted": p["deleted"],
        }
    return out


def _same(a: Any, b: Any) -> bool:
    if a in ("", None) and b in ("", None):
        return True
    if isinstance(a, (Decimal, int, float)) and isinstance(b, (Decimal, int, float)) and not isinstance(a, bool):
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    return a == b and type(a) is type(b)


def diff(expect: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], *, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Missing and extra keys, and per column the keys whose value differs (with an example)."""
    out: dict[str, Any] = {}
    missing, extra = sorted(expect.keys() - actual.keys()), sorted(actual.keys() - expect.keys())
    if missing:
        out["missing"] = (len(missing), missing[:3])
    if extra:
        out["extra"] = (len(extra), extra[:3])
    columns = next(iter(expect.values()), {}).keys()
    for column in columns:
        if column in ignore:
            continue
        bad = [k for k in expect.keys() & actual.keys() if not _same(expect[k][column], actual[k].get(column, "<absent>"))]
        if bad:
            k = bad[0]
            out[column] = (len(bad), k, expect[k][column], actual[k].get(column, "<absent>"))
    return out


def rows_of(frame: pl.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in frame.to_dicts()}


def warehouse_rows(wh, table: str) -> dict[str, dict[str, Any]]:
    return rows_of(wh.staging_frame(STAGING[table]), KEYS[table])


def pg_rows(conninfo: str, table: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(STAGING[table])))
        names = [d.name for d in cur.description]
        return {row[names.index(KEYS[table])]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def compare_all(truth: dict[str, pl.DataFrame], read, *, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """``read(table) -> rows``; every table's differences from the truth (empty when equal)."""
    want = expected(truth)
    out = {}
    for table in KEYS:
        d = diff(want[table], read(table), ignore=ignore)
        if d:
            out[table] = d
    return out


def first_day(truth: dict[str, pl.DataFrame], tz: str = TZ) -> date:
    """The shop-local day of the oldest record any listing filters on (the backfill's ``since``)."""
    oldest = min(
        int(truth["members"]["modified"].min()),
        int(truth["products"]["modified"].min()),
        int(truth["transactions"]["processedTime"].min()),
    )
    return local(oldest, tz)


def midnight_ms(day: date, tz: str = TZ) -> int:
    return int(datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).timestamp() * 1000)


def in_range(truth: dict[str, pl.DataFrame], since: date, tz: str = TZ) -> dict[str, pl.DataFrame]:
    """The part of ``truth`` a sync from ``since`` holds: every member and product (``since``
    bounds the history, not the shop's customers and catalogue), transactions processed on a
    shop-local day since then plus the sales their refunds point to (read by id), and those
    transactions' items."""
    tx = truth["transactions"]
    day = pl.from_epoch("processedTime", time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()
    listed = tx.filter(day >= since)
    parents = listed.filter(pl.col("transType") == "Refund").get_column("parentTransactionId").drop_nulls()
    keep = tx.filter(pl.col("id").is_in(listed["id"].to_list()) | pl.col("id").is_in(parents.to_list()))
    return {
        **truth,
        "transactions": keep,
        "items": truth["items"].filter(pl.col("transactionId").is_in(keep["id"].to_list())),
    }
