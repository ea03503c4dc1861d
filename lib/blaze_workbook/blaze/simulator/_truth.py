"""Ground truth: the current dataset as polars frames, built from the columns in one vectorised pass.

Column names are the Blaze JSON paths (dots for nesting, ``[0]`` for a first list element); values
equal what the JSON carries: money and points as ``Decimal`` scale 2, quantities scale 3, epoch
milliseconds as ``Int64`` (null where the JSON has null), text exactly as served (``''`` included).
``items.position`` is the item's index in ``cart.items``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from . import _words as W
from ._gen_members import CONSUMER_TYPES, STATUSES
from ._gen_sales import ACTIVITY_TYPES, DISCOUNT_TYPES, ITEM_STATUSES, PAYMENTS, REFUND_STATES, TX_STATUSES, TX_TYPES
from ._generate import World
from ._render_records import product_asset_url
from ._table import Table


def dec(values: np.ndarray, scale: int, null: np.ndarray | None = None) -> pl.Series:
    """Exact decimals from scaled integers (cents -> scale 2), without going through floats."""
    v = np.ascontiguousarray(values, dtype=np.int64)
    words = np.empty((len(v), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = v, v >> 63
    validity = None if null is None else pa.array(~np.asarray(null, dtype=bool)).buffers()[1]
    arr = pa.Array.from_buffers(pa.decimal128(18, scale), len(v), [validity, pa.py_buffer(words.tobytes())])
    return pl.from_arrow(arr)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_ids(t: Table) -> pl.Series:
    """All ids of table ``t`` as 24-hex-char strings, formatted vectorised."""
    hi, lo = t["hi"].astype(np.uint64), t["lo"].astype(np.uint64)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    digits = np.concatenate([(hi[:, None] >> shifts) & np.uint64(15),
                             (lo[:, None] >> shifts[8:]) & np.uint64(15)], axis=1)
    chars = np.ascontiguousarray(_HEX[digits.astype(np.intp)])
    return pl.Series(chars.view("S24").ravel()).cast(pl.Binary).cast(pl.String)


class Ids:
    """Id strings per table, formatted once per truth() call and gathered by row."""

    def __init__(self) -> None:
        self._cache: dict[int, pl.Series] = {}

    def __call__(self, t: Table, rows: np.ndarray | None = None) -> pl.Series:
        every = self._cache.get(id(t))
        if every is None:
            every = self._cache[id(t)] = hex_ids(t)
        return every if rows is None else every.gather(np.asarray(rows, dtype=np.int64))


def _null(s: pl.Series, null: np.ndarray) -> pl.Series:
    """``s`` with nulls where ``null`` is true."""
    return pl.select(pl.when(pl.Series(null)).then(None).otherwise(s)).to_series()


def _text(values, null: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(list(values), dtype=pl.String)
    return s if null is None else _null(s, null)


def _enum(codes: np.ndarray, names: tuple[str, ...]) -> pl.Series:
    return pl.Series(list(names), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64))


def _ms(values: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(values.astype(np.int64), dtype=pl.Int64)
    return s if null is None else _null(s, null)


def _frame(columns: dict[str, pl.Series]) -> pl.DataFrame:
    return pl.DataFrame({k: v.alias(k) for k, v in columns.items()})


def members(w: World, ids: Ids) -> pl.DataFrame:
    m = w.members
    city = np.asarray([c[0] for c in W.CITIES], dtype=object)[m["city"]]
    group = np.asarray([g[0] for g in W.MEMBER_GROUPS], dtype=object)[m["group"]]
    return _frame({
        "id": ids(m), "firstName": _text(m["first"]), "lastName": _text(m["last"]),
        "primaryPhone": _text(m["phone"]), "email": _text(m["email"]), "address.address": _text(m["street"]),
        "address.city": _text(city), "address.state": _text(["CA"] * len(m)), "address.zipCode": _text(m["zip"]),
        "status": _enum(m["status"], STATUSES), "medical": pl.Series(m["medical"]),
        "textOptIn": pl.Series(m["text_opt"]), "emailOptIn": pl.Series(m["email_opt"]),
        "memberGroupId": ids(w.groups, m["group"].astype(np.int64)), "memberGroup.name": _text(group),
        "startDate": _ms(m["start"]), "lastVisitDate": _ms(m["last_visit"], m["last_visit"] < 0),
        "loyaltyPoints": dec(m["loyalty"], 2), "lifetimePoints": dec(m["lifetime"], 2),
        "created": _ms(m["created"]), "modified": _ms(m["modified"]), "deleted": pl.Series(m["deleted"]),
        "sex": pl.Series(m["sex"].astype(np.int64)), "consumerType": _enum(m["consumer"], CONSUMER_TYPES),
        "marketingSource": _text(m["marketing"]),
    })


def transactions(w: World, ids: Ids) -> pl.DataFrame:
    t = w.tx
    parent = t["parent"]
    has_parent = parent >= 0
    return _frame({
        "id": ids(t), "memberId": ids(w.members, t["member"].astype(np.int64)),
        "shopId": _text([w.shop.shop_id] * len(t)), "sellerId": ids(w.employees, t["seller"].astype(np.int64)),
        "terminalId": ids(w.terminals, t["terminal"].astype(np.int64)),
        "transNo": _text(t["trans_no"].astype(str)), "status": _enum(t["status"], TX_STATUSES),
        "transType": _enum(t["ttype"], TX_TYPES),
        "parentTransactionId": _null(ids(t, np.where(has_parent, parent, 0)), ~has_parent),
        "created": _ms(t["created"]), "modified": _ms(t["modified"]), "startTime": _ms(t["start"]),
        "endTime": _ms(t["end"]), "completedTime": _ms(t["completed"], t["completed"] < 0),
        "processedTime": _ms(t["processed"]), "transactionRefundStatus": _enum(t["refund_state"], REFUND_STATES),
        "cart.paymentOption": _enum(t["pay"], PAYMENTS), "cart.subTotal": dec(t["subtotal"], 2),
        "cart.totalDiscount": dec(t["discount"], 2), "cart.totalCalcTax": dec(t["tax"], 2),
        "cart.tax": dec(np.full(len(t), 8), 2), "cart.totalBeforeTaxRounding": dec(t["before"], 2),
        "cart.totalAfterTaxRounding": dec(t["after"], 2), "cart.creditCardFee": dec(t["fee"], 2),
        "cart.total": dec(t["total"], 2), "cart.pointSpent": dec(t["point_spent"], 2),
        "pointsEarned": dec(t["earned"], 2),
    })


def items(w: World, ids: Ids) -> pl.DataFrame:
    """Items denormalise their product's SKU, name, brand and category: gathered per product row."""
    it, p = w.items, w.products
    prod = it["product"].astype(np.int64)
    brand = p["brand"]
    per_product = pl.DataFrame({
        "productSku": _text(p["sku"]), "productName": _text(p["name"]),
        "brandName": _text(np.append(w.brands["name"], "")[np.where(brand >= 0, brand, len(w.brands))]),
        "categoryName": _text(np.asarray([c[0] for c in W.CATEGORIES], dtype=object)[
            w.categories["cat"][p["category"]]]),
        "weightPerUnit": _text(p["wpu"]),
    })[prod]
    return _frame({
        "id": ids(it), "transactionId": ids(w.tx, it["tx"].astype(np.int64)),
        "position": pl.Series(it["pos"].astype(np.int64)), "productId": ids(p, prod),
        "productSku": per_product["productSku"], "productName": per_product["productName"],
        "brandName": per_product["brandName"], "categoryName": per_product["categoryName"],
        "quantity": dec(it["qty"], 3), "unitPrice": dec(it["price"], 2), "discount": dec(it["draw"], 2),
        "discountType": _enum(it["dtype"], DISCOUNT_TYPES), "calcDiscount": dec(it["calc_disc"], 2),
        "finalPrice": dec(it["final"], 2), "calcTax": dec(it["tax"], 2), "weightPerUnit": per_product["weightPerUnit"],
        "status": _enum(it["status"], ITEM_STATUSES),
    })


def products(w: World, ids: Ids) -> pl.DataFrame:
    p, v, b = w.products, w.vendors, w.brands
    brand = p["brand"].astype(np.int64)
    no_brand = brand < 0
    cat_names = np.asarray([c[0] for c in W.CATEGORIES], dtype=object)[w.categories["cat"][p["category"]]]
    first_asset = [product_asset_url(rid) for rid in ids(p).to_list()]
    cols: dict[str, pl.Series] = {
        "id": ids(p), "sku": _text(p["sku"]), "name": _text(p["name"]),
        "brandId": _null(ids(b, np.where(no_brand, 0, brand)), no_brand),
        "brandName": _text(np.append(b["name"], None)[np.where(no_brand, len(b), brand)], no_brand),
        "categoryId": ids(w.categories, p["category"].astype(np.int64)), "category.name": _text(cat_names),
        "categoryName": _text(cat_names, ~p["cat_name_set"]),
        "vendorId": ids(v, p["vendor"].astype(np.int64)),
        "vendorName": _text(v["name"][p["vendor"]], ~p["vendor_name_set"]),
        "unitPrice": dec(p["price"], 2), "active": pl.Series(p["active"]), "instock": pl.Series(p["instock"]),
    }
    for c in ("thc", "cbd", "thca", "cbda", "cbg"):
        cols[c] = dec(p[c], 2, p[c] < 0)
    cols.update({
        "description": _text(p["description"]), "weightPerUnit": _text(p["wpu"]), "unitValue": dec(p["unit_value"], 2),
        "flowerType": _text(p["flower"], np.asarray([f is None for f in p["flower"]], dtype=bool)),
        "assets[0].publicURL": _text(first_asset, p["n_assets"] == 0),
        "created": _ms(p["created"]), "modified": _ms(p["modified"]), "deleted": pl.Series(p["deleted"]),
    })
    return _frame(cols)


def _small(w: World, ids: Ids) -> dict[str, pl.DataFrame]:
    v, b, c, e, t, g, a = w.vendors, w.brands, w.categories, w.employees, w.terminals, w.groups, w.loyalty
    from ._render import VENDOR_TYPES

    spec = [W.CATEGORIES[int(k)] for k in c["cat"]]
    return {
        "vendors": _frame({"id": ids(v), "name": _text(v["name"]), "active": pl.Series(v["active"]),
                           "email": _text(v["email"]), "phone": _text(v["phone"]),
                           "licenseNumber": _text(v["license"]), "vendorType": _enum(v["vtype"], VENDOR_TYPES),
                           "created": _ms(v["created"]), "modified": _ms(v["modified"])}),
        "brands": _frame({"id": ids(b), "name": _text(b["name"]), "active": pl.Series(b["active"]),
                          "website": _text(b["website"]), "vendorList[0]": ids(v, b["vendor"].astype(np.int64)),
                          "created": _ms(b["created"]), "modified": _ms(b["modified"])}),
        "categories": _frame({"id": ids(c), "name": _text([s[0] for s in spec]),
                              "unitType": _text([s[1] for s in spec]), "cannabis": pl.Series([s[2] for s in spec]),
                              "active": pl.Series(c["active"]), "deleted": pl.Series(c["deleted"]),
                              "created": _ms(c["created"]), "modified": _ms(c["modified"])}),
        "employees": _frame({"id": ids(e), "firstName": _text(e["first"]), "lastName": _text(e["last"]),
                             "email": _text(e["email"]), "phoneNumber": _text(e["phone"]),
                             "disabled": pl.Series(e["disabled"]), "created": _ms(e["created"]),
                             "modified": _ms(e["modified"])}),
        "terminals": _frame({"id": ids(t), "name": _text(t["name"]), "deviceId": _text(t["device"]),
                             "created": _ms(t["created"]), "modified": _ms(t["modified"])}),
        "member_groups": _frame({"id": ids(g), "name": _text([x[0] for x in W.MEMBER_GROUPS]),
                                 "discount": dec(np.asarray([x[1] for x in W.MEMBER_GROUPS]), 2),
                                 "defaultGroup": pl.Series([x[2] for x in W.MEMBER_GROUPS]),
                                 "memberCount": pl.Series(g["count"].astype(np.int64))}),
        "loyalty_activity": _frame({
            "id": ids(a), "memberId": ids(w.members, a["member"].astype(np.int64)),
            "activityType": _enum(a["kind"], ACTIVITY_TYPES), "amount": dec(a["amount"], 2),
            "activityDate": _ms(a["date"]), "transactionId": ids(w.tx, a["tx"].astype(np.int64)),
            "transNo": _text(w.tx["trans_no"][a["tx"]].astype(str))}),
    }


def truth(w: World) -> dict[str, pl.DataFrame]:
    s = w.shop
    ids = Ids()
    out = {"members": members(w, ids), "transactions": transactions(w, ids), "items": items(w, ids),
           "products": products(w, ids)}
    out.update(_small(w, ids))
    out["shop"] = pl.DataFrame({"id": [s.shop_id], "companyId": [s.company_id], "name": [s.name],
                                "timeZone": [w.tz], "license": [s.license], "created": [s.created]})
    return out
