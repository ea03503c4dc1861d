"""Rendered records: real key sets and weights, cart arithmetic, quirks, and truth == served JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import orjson
import polars as pl
import pytest

from blaze_workbook.blaze.simulator.dataset import Dataset, Query

#: copies of shared/blaze/samples (tests/sync checks they still match the originals)
SAMPLES = Path(__file__).resolve().parents[1] / "sync" / "data"
#: dicts keyed by data (shop ids, territories), not by field names
MAPS = {"promotionShopMap", "taxMappingInfo", "adjustmentAmountDetails", "txnLineIDMap", "sourceMap"}
#: average JSON weights of real records (API.md §8)
WEIGHTS = {"members": 5_000, "products": 20_000, "transactions": 55_000}


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.generate("tiny")


@pytest.fixture(scope="module")
def truth(ds: Dataset) -> dict[str, pl.DataFrame]:
    return ds.truth()


@pytest.fixture(scope="module")
def pages(ds: Dataset) -> dict[str, list[dict]]:
    """A spread of records of every entity: a few pages from the start, middle and end."""
    out = {}
    for entity in Dataset.ENTITIES:
        total = ds.page(entity, Query(limit=1)).total
        skips = sorted({0, max(0, total // 2 - 50), max(0, total - 100)}) if entity == "transactions" else range(0, total, 100)
        out[entity] = [r for s in skips for r in ds.page(entity, Query(skip=s, limit=100)).records]
    return out


def sample(name: str) -> dict:
    path = SAMPLES / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())["values"][0]


def key_diffs(path: str, want, got, out: list) -> None:
    """Where ``got`` has other keys (or another order) than ``want``, recursively."""
    if isinstance(want, dict) and isinstance(got, dict):
        if path.rsplit(".", 1)[-1] in MAPS:
            return
        if list(want) != list(got):
            out.append((path, [k for k in want if k not in got], [k for k in got if k not in want]))
        for k in want:
            if k in got:
                key_diffs(f"{path}.{k}", want[k], got[k], out)
    elif isinstance(want, list) and isinstance(got, list) and want and got:
        for g in got:
            key_diffs(f"{path}[]", want[0], g, out)


@pytest.mark.parametrize("entity", ["members", "products", "transactions"])
def test_key_sets_match_the_samples(pages, entity: str):
    want = sample(entity)
    diffs: list = []
    for rec in pages[entity]:
        key_diffs(entity, want, rec, diffs)
    assert diffs == []
    nested = {"transactions": ["cart", "cart.items", "cart.taxTable", "cart.taxResult", "payments"],
              "members": ["address", "memberGroup", "identifications"],
              "products": ["category", "brand", "priceBreaks", "assets"]}[entity]
    for path in nested:  # the nested objects are really there to compare
        assert any(_at(rec, path) for rec in pages[entity]), path


def _at(rec: dict, path: str):
    for part in path.split("."):
        rec = rec[part][0] if isinstance(rec, dict) and isinstance(rec.get(part), list) and rec[part] else rec.get(part)
        if rec is None:
            return None
    return rec


@pytest.mark.parametrize("entity", ["members", "products", "transactions"])
def test_weights_are_realistic(pages, entity: str):
    recs = pages[entity]
    avg = len(orjson.dumps(recs)) / len(recs)
    assert 0.5 * WEIGHTS[entity] <= avg <= 2 * WEIGHTS[entity], avg


def _dec(x) -> Decimal:
    return Decimal(repr(x))


def test_cart_arithmetic(pages):
    for t in pages["transactions"]:
        cart, items = t["cart"], t["cart"]["items"]
        assert 1 <= len(items) <= 4
        assert cart["tax"] == 0.08  # a rate, not an amount
        assert _dec(cart["totalCalcTax"]) == sum(_dec(i["calcTax"]) for i in items)
        assert _dec(cart["subTotal"]) == sum(_dec(i["cost"]) for i in items)
        assert _dec(cart["totalDiscount"]) == sum(_dec(i["calcDiscount"]) for i in items)
        before = _dec(cart["subTotal"]) - _dec(cart["totalDiscount"]) + _dec(cart["totalCalcTax"])
        assert _dec(cart["totalBeforeTaxRounding"]) == before
        assert _dec(cart["totalAfterTaxRounding"]) == before + _dec(cart["roundAmt"])
        assert _dec(cart["total"]) == _dec(cart["totalAfterTaxRounding"]) + _dec(cart["creditCardFee"])
        for i in items:
            assert _dec(i["finalPrice"]) == _dec(i["cost"]) - _dec(i["calcDiscount"])
            assert i["product"] is None and i["productName"] and i["productId"]
        for money in (cart["total"], cart["subTotal"], cart["totalCalcTax"], t["pointsEarned"],
                      *(i["unitPrice"] for i in items), *(i["calcTax"] for i in items)):
            assert _dec(money).as_tuple().exponent >= -2
        assert t["member"] is None and t["seller"] is None and t["terminal"] is None
        assert t["memberId"] and t["sellerId"] and t["terminalId"] and t["shopId"]
    assert any(t["cart"]["total"] != t["cart"]["totalAfterTaxRounding"] for t in pages["transactions"])
    assert any(i["quantity"] != int(i["quantity"]) for t in pages["transactions"] for i in t["cart"]["items"])


def test_times_and_statuses(ds: Dataset, truth):
    tx = truth["transactions"]
    done = tx.filter(pl.col("status") == "Completed")
    assert (done["startTime"] < done["endTime"]).all()
    assert (done["endTime"] <= done["completedTime"]).all()
    assert (done["completedTime"] == done["processedTime"]).all()
    assert (tx["modified"] >= tx["processedTime"]).all()
    statuses = set(tx["status"].to_list())
    assert {"Completed", "Canceled", "RefundWithInventory", "RefundWithoutInventory"} <= statuses
    canceled = tx.filter(pl.col("status").is_in(["Canceled", "Void"]))
    assert canceled["completedTime"].null_count() == canceled.height and (canceled["pointsEarned"] == 0).all()
    refunds = tx.filter(pl.col("transType") == "Refund")
    assert refunds.height > 0 and refunds["status"].str.starts_with("Refund").all()
    parents = refunds.join(tx, left_on="parentTransactionId", right_on="id", suffix="_sale")
    assert parents.height == refunds.height
    assert (parents["transType_sale"] == "Sale").all() and (parents["status_sale"] == "Completed").all()
    assert (parents["processedTime_sale"] < parents["processedTime"]).all()
    assert (parents["modified_sale"] > parents["processedTime"]).all()
    assert (refunds["cart.total"] > 0).all()
    hours = tx["processedTime"].map_elements(
        lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(hours=-8))).hour, return_dtype=pl.Int64)
    assert hours.min() >= 7 and hours.max() <= 22


def test_members_consistent_with_sales(truth):
    sales = truth["transactions"].filter((pl.col("transType") == "Sale") & (pl.col("status") == "Completed"))
    per_member = sales.group_by("memberId").agg(pl.col("completedTime").max().alias("last"),
                                                pl.col("pointsEarned").sum().alias("earned"),
                                                pl.col("cart.pointSpent").sum().alias("spent"))
    m = truth["members"].join(per_member, left_on="id", right_on="memberId", how="left")
    assert (m["lastVisitDate"].fill_null(-1) == m["last"].fill_null(-1)).all()
    with_sales = m.filter(pl.col("last").is_not_null())
    assert (with_sales["lifetimePoints"] == with_sales["earned"]).all()
    assert (with_sales["loyaltyPoints"] == with_sales["earned"] - with_sales["spent"]).all()
    assert (m["loyaltyPoints"] >= 0).all() and (m["modified"] >= m["created"]).all()
    assert (with_sales["modified"] >= with_sales["lastVisitDate"]).all()
    assert m["deleted"].any() and not m["deleted"].all()


def test_real_data_quirks(pages, truth):
    members = pages["members"]
    assert all("lastestRecommendation" in r and "latestRecommendation" in r for r in members)
    assert all(isinstance(r["sex"], int) for r in members)
    phones = {r["primaryPhone"] for r in members}
    assert "" in phones and "0000000000" in phones
    assert any(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\+1\d{10}", p) for p in phones)
    assert any(r["email"] == "" for r in members) and any(r["email"] != r["email"].lower() for r in members)
    names = [r["firstName"] + " " + r["lastName"] for r in members]
    assert any("Ã" in n for n in names) and any(n.isupper() for n in names)
    assert any(ord(ch) > 0x1F000 for n in names for ch in n)
    products = pages["products"]
    assert any(p["categoryName"] is None for p in products) and any(p["vendorName"] is None for p in products)
    assert sum(p["brandName"] is not None for p in products) > 0.8 * len(products)
    assert any(p["assets"] == [] for p in products) and any(p["thc"] is None for p in products)
    assert all(p["category"]["name"] for p in products)
    assert all(len(r["id"]) == 24 and int(r["id"], 16) >= 0 for e in pages.values() for r in e)


def _value(rec: dict, path: str):
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            rec = rec[int(part[1:-1])] if rec else None
        else:
            rec = rec[part]
        if rec is None:
            return None
    return rec


def _same(served, expected) -> bool:
    if isinstance(expected, Decimal):
        return served is not None and _dec(served) == expected
    return served == expected


def _check(frame: pl.DataFrame, records: list[dict], skip: tuple[str, ...] = ()) -> int:
    rows = {r["id"]: r for r in frame.iter_rows(named=True)}
    for rec in records:
        want = rows[rec["id"]]
        for col, expected in want.items():
            if col in skip:
                continue
            assert _same(_value(rec, col), expected), (rec["id"], col, _value(rec, col), expected)
    return len(records)


def test_truth_equals_served(ds: Dataset, truth, pages):
    for entity in ("members", "transactions", "products", "vendors", "brands", "categories", "employees",
                   "terminals", "loyalty_activity"):
        assert _check(truth[entity], pages[entity]) > 0, entity
    assert _check(truth["categories"], ds.page("categories", Query(include_deleted=True)).records) == 10
    items = [dict(i, transactionId=t["id"], position=k) for t in pages["transactions"]
             for k, i in enumerate(t["cart"]["items"])]
    assert _check(truth["items"], items) > 100
    groups = {m["memberGroup"]["id"]: m["memberGroup"] for m in pages["members"]}
    assert _check(truth["member_groups"], list(groups.values())) >= 2
    shop = ds.store()["shop"]
    assert _check(truth["shop"], [shop]) == 1
    # every truth table has a row per served record
    for entity, table in (("members", "members"), ("transactions", "transactions"), ("products", "products"),
                          ("loyalty_activity", "loyalty_activity"), ("employees", "employees")):
        assert ds.page(entity, Query(limit=1)).total == truth[table].height


def test_truth_types(truth):
    tx, items = truth["transactions"], truth["items"]
    assert tx.schema["cart.total"] == pl.Decimal(18, 2) and tx.schema["processedTime"] == pl.Int64
    assert items.schema["quantity"] == pl.Decimal(18, 3) and items.schema["calcTax"] == pl.Decimal(18, 2)
    assert truth["members"].schema["loyaltyPoints"] == pl.Decimal(18, 2)
    sums = items.group_by("transactionId").agg(pl.col("calcTax").sum().alias("tax"))
    joined = tx.join(sums, left_on="id", right_on="transactionId")
    assert joined.height == tx.height and (joined["tax"] == joined["cart.totalCalcTax"]).all()
    assert truth["shop"].height == 1
