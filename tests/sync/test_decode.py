"""decode_page against the real samples (hand-computed values), bad records and the simulator."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from blaze_workbook.errors import ConfigurationError, InputDataError
from blaze_workbook.mapping import CUSTOMERS, PRODUCTS, TABLES, TRANSACTION_ITEMS, TRANSACTIONS
from blaze_workbook.blaze.pages import RawPage
from blaze_workbook.blaze.paging import DayWindow
from blaze_workbook.sync import decode_page, frame_schema, resolve, shop_timezone
from blaze_workbook.sync.passes import Pass, refs

#: copies of shared/blaze/samples (real responses, anonymised), so the tests run without shared/
SAMPLES = Path(__file__).resolve().parent / "data"
SHARED_SAMPLES = Path("/work/shared/blaze/samples")
LA = "America/Los_Angeles"


def sample(entity: str) -> dict:
    return json.loads((SAMPLES / f"{entity}.json").read_text())


def record(entity: str) -> dict:
    return copy.deepcopy(sample(entity)["values"][0])


def page(*records: object, total: int | None = None) -> bytes:
    return json.dumps({"values": list(records), "skip": 0, "limit": 100, "total": total or len(records)}).encode()


def only_row(frame: pl.DataFrame) -> dict:
    assert frame.height == 1, frame
    return frame.row(0, named=True)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the samples, every staging column ---------------------------------------------------------


@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="the shared design folder is not on this machine")
@pytest.mark.parametrize("entity", ["members", "transactions", "products"])
def test_the_copied_samples_are_the_shared_ones(entity):
    assert (SAMPLES / f"{entity}.json").read_bytes() == (SHARED_SAMPLES / f"{entity}.json").read_bytes()


def test_sample_member_every_column():
    decoded = decode_page("members", (SAMPLES / "members.json").read_bytes(), timezone=LA)
    assert decoded.quarantine.is_empty() and decoded.drift == {}
    assert (decoded.count, decoded.skip, decoded.limit, decoded.total) == (1, 0, 1, 131005)
    frame = decoded.frames[CUSTOMERS.staging]
    assert dict(frame.schema) == frame_schema(CUSTOMERS)
    assert only_row(decoded.staging(CUSTOMERS)) == {
        "member_id": "a2b131ef8085505cb95bbc31",
        "name": "RILEY PATEL",
        "phone": "",
        "email": "",
        "street_address": "6568 EXAMPLE ST",
        "city": "SAMPLETOWN",
        "state": "CA",
        "zip_code": "90000",
        # lastVisitDate 1761793355390 = 2025-10-30T03:02:35Z = 2025-10-29 20:02 in Los Angeles
        "last_visited": date(2025, 10, 29),
        "loyalty_points": Decimal("10.98"),
        "customer_type": "Active",
        "is_medical": False,
        "text_opt_in": False,
        "email_opt_in": False,
        "member_group": "Adult-Use",
        # startDate 1758247149615 = 2025-09-19T01:59:09Z = 2025-09-18 18:59 in Los Angeles
        "date_joined": date(2025, 9, 18),
        "blaze_created": utc(2025, 9, 19, 1, 59, 9, 594000),
        "blaze_modified": utc(2025, 10, 30, 3, 2, 35, 437000),
        "deleted": False,
    }
    assert only_row(frame)["_modified_ms"] == 1761793355437


def test_sample_member_dates_follow_the_shop_time_zone():
    decoded = decode_page("members", (SAMPLES / "members.json").read_bytes(), timezone="UTC")
    row = only_row(decoded.frames[CUSTOMERS.staging])
    assert (row["last_visited"], row["date_joined"]) == (date(2025, 10, 30), date(2025, 9, 19))


def test_sample_transaction_every_column():
    decoded = decode_page("transactions", (SAMPLES / "transactions.json").read_bytes(), timezone=LA)
    assert decoded.quarantine.is_empty() and decoded.drift == {}
    assert set(decoded.frames) == {TRANSACTIONS.staging, TRANSACTION_ITEMS.staging}
    assert only_row(decoded.staging(TRANSACTIONS)) == {
        "transaction_id": "b165fb39fcc8929b01625aa9",
        "customer_id": "9a39ebe3b2c6e0cc4143ec43",
        "date": utc(2025, 10, 23, 17, 16, 33, 393000),  # completedTime 1761239793393
        "shop_id": "2b5748b9a900ffe848d15a6a",
        "shop_location": None,  # no /store look-up given
        "seller_id": "4a8b357d1a4622dfa3776067",
        "staff_name": None,  # no /employees look-up given
        "terminal": "e9ad9e54441a7ea4a08e6523",
        "payment_type": "Credit",
        "total_amount": Decimal("69.12"),  # cart.total (not totalAfterTaxRounding 64.0)
        "total_tax": Decimal("17.97"),  # cart.totalCalcTax, not cart.tax (0.08, a rate)
        "discounts": Decimal("5.0"),
        "loyalty_points_earned": Decimal("2.31"),
        "loyalty_points_spent": Decimal("0"),
        "blaze_status": "Completed",
        "trans_type": "Sale",
        "blaze_created": utc(2025, 10, 23, 17, 7, 44, 635000),
        "blaze_modified": utc(2025, 10, 23, 17, 16, 43, 102000),
        "start_time": utc(2025, 10, 23, 17, 16, 28, 58000),
        "end_time": utc(2025, 10, 23, 17, 16, 33, 219000),
        "completed_time": utc(2025, 10, 23, 17, 16, 33, 393000),
    }
    items = decoded.staging(TRANSACTION_ITEMS).sort("item_id", descending=True)
    assert items.to_dicts() == [
        {
            "item_id": "dae709068608886f7a5c9dda",
            "transaction_id": "b165fb39fcc8929b01625aa9",
            "product_id": "0f918e3e09c7d4674a87415b",
            "product_sku": "M600PRO3",
            "product_name": "PlugPlay 1g Vape Sugar Daddy Purple - DNA",
            "brand": "PlugPlay",
            "category": "Vapes",
            "quantity": Decimal("1"),
            "unit_price": Decimal("33.93"),
            "total_price": Decimal("33.93"),
            "discount": Decimal("0"),
            "discount_type": "Cash",
            "tax": Decimal("13.1763"),  # four decimals as sent: kept exactly
            "weight_per_unit": "CUSTOM_GRAMS",
            "item_status": "Active",
        },
        {
            "item_id": "6220dde397b67a0dab54c9b9",
            "transaction_id": "b165fb39fcc8929b01625aa9",
            "product_id": "9e02bc2eb72c84fe332545b5",
            "product_sku": "MBC1PRO1",
            "product_name": "Dime Bag Kali Mist Pre-Rolls Sativa 2.5g (5pk)",
            "brand": "Dime Bag",
            "category": "Flower PrePacks",
            "quantity": Decimal("1"),
            "unit_price": Decimal("17.33"),
            "total_price": Decimal("12.33"),
            "discount": Decimal("5"),
            "discount_type": "Cash",
            "tax": Decimal("4.7881"),
            "weight_per_unit": "CUSTOM_GRAMS",
            "item_status": "Active",
        },
    ]
    # items are ordered by their parent's modified time
    assert decoded.frames[TRANSACTION_ITEMS.staging].get_column("_modified_ms").to_list() == [1761239803102] * 2
    for t in (TRANSACTIONS, TRANSACTION_ITEMS):
        assert dict(decoded.frames[t.staging].schema) == frame_schema(t)


def test_sample_product_every_column():
    decoded = decode_page("products", (SAMPLES / "products.json").read_bytes(), timezone=LA)
    assert decoded.quarantine.is_empty() and decoded.drift == {}
    assert only_row(decoded.staging(PRODUCTS)) == {
        "product_id": "5eee7cb0d4b1c266fea858c3",
        "sku": "MFAAPRO5",
        "name": " 'Uplifting' Forest Berry Vegan Fruit Chews (10mg x 10pc)",  # as sent: only `name` kind is trimmed
        "brand": "Kiva Confections",
        "category": "Edibles",  # category.name (categoryName is null)
        "vendor": "493c56af2494bed44d4520e4",
        "vendor_name": None,
        "retail_price": Decimal("17.33"),
        "is_active": True,
        "thc_content": Decimal("0"),
        "cbd_content": Decimal("0"),
        "thca": Decimal("0"),
        "cbda": Decimal("0"),
        "cbg": Decimal("0"),
        "description": "",
        "weight_per_unit": "EACH",
        "unit_value": Decimal("1"),
        "flower_type": None,
        "image_url": "https://connect-files-public.s3.amazonaws.com/e1f08c32-5585-4e94-9aba-4fdc9a9c86dd.jpg",
        "blaze_created": utc(2023, 8, 7, 21, 28, 2, 879000),
        "blaze_modified": utc(2025, 10, 13, 17, 30, 15, 261000),
        "deleted": False,
    }
    row = only_row(decoded.frames[PRODUCTS.staging])
    assert (row["_ref_brand"], row["_ref_category"], row["_ref_vendor_name"]) == (
        "cdc6712f11a39901df8d8c7e",
        "a200c686b6dc87ec126c275c",
        "493c56af2494bed44d4520e4",
    )


def test_money_is_exact_decimal_from_the_json_text():
    rec = record("transactions")
    body = page(rec).replace(b'"total": 69.12', b'"total": 0.1').replace(b'"totalCalcTax": 17.97', b'"totalCalcTax": 1e2')
    row = only_row(decode_page("transactions", body, timezone=LA).frames[TRANSACTIONS.staging])
    assert row["total_amount"] == Decimal("0.1") and row["total_tax"] == Decimal("100")
    assert decode_page("transactions", body, timezone=LA).frames[TRANSACTIONS.staging].schema["total_amount"] == pl.Decimal(38, 6)


# --- look-ups ----------------------------------------------------------------------------------


def lookup_pages() -> dict[str, bytes]:
    return {
        "employees": page({"id": "4a8b357d1a4622dfa3776067", "firstName": "  Sam ", "lastName": "Budtender  Jr"}, {"id": "other", "firstName": "X", "lastName": None}),
        "store": json.dumps({"shop": {"id": "2b5748b9a900ffe848d15a6a", "name": "Downtown", "timeZone": "America/New_York",
                                       "created": 1_561_000_000_000}}).encode(),
        "vendors": page({"id": "493c56af2494bed44d4520e4", "name": "Kiva Sales"}),
        "brands": page({"id": "cdc6712f11a39901df8d8c7e", "name": "Kiva (brand list)"}),
        "categories": page({"id": "a200c686b6dc87ec126c275c", "name": "Edibles (list)"}),
        "terminals": page({"id": "e9ad9e54441a7ea4a08e6523", "name": "Register 1"}),
    }


def decoded_lookups() -> dict[str, pl.DataFrame]:
    out = {}
    for entity, body in lookup_pages().items():
        decoded = decode_page(entity, body, timezone=LA)
        assert decoded.quarantine.is_empty()
        out.update(decoded.frames)
    return out


def test_lookup_pages():
    lookups = decoded_lookups()
    assert set(lookups) == {"employees", "shop", "vendors", "brands", "categories", "terminals"}
    assert lookups["employees"].to_dicts() == [
        {"id": "4a8b357d1a4622dfa3776067", "name": "Sam Budtender Jr", "time_zone": None, "opened_ms": None},
        {"id": "other", "name": "X", "time_zone": None, "opened_ms": None},
    ]
    # the shop's opening: where a fill of members and products starts (plan.py)
    assert lookups["shop"].to_dicts() == [
        {"id": "2b5748b9a900ffe848d15a6a", "name": "Downtown", "time_zone": "America/New_York", "opened_ms": 1_561_000_000_000},
    ]
    assert shop_timezone(lookups, LA) == "America/New_York"
    assert shop_timezone({}, LA) == LA


@pytest.mark.parametrize("created", ['""', '"soon"', "0", "null"])
def test_a_shop_with_an_unreadable_opening_is_kept_without_one(created):
    body = b'{"shop": {"id": "s1", "name": "Downtown", "timeZone": "America/New_York", "created": %s}}' % created.encode()
    decoded = decode_page("store", body, timezone=LA)
    assert decoded.quarantine.is_empty()
    assert decoded.frames["shop"].to_dicts() == [{"id": "s1", "name": "Downtown", "time_zone": "America/New_York", "opened_ms": None}]


def test_lookups_resolve_names_and_fill_missing_values():
    lookups = decoded_lookups()
    tx = decode_page("transactions", (SAMPLES / "transactions.json").read_bytes(), timezone=LA, lookups=lookups)
    row = only_row(tx.frames[TRANSACTIONS.staging])
    assert (row["shop_location"], row["staff_name"]) == ("Downtown", "Sam Budtender Jr")

    rec = record("products")
    body = page(rec)
    row = only_row(decode_page("products", body, timezone=LA, lookups=lookups).frames[PRODUCTS.staging])
    # the record's own brandName and category.name win; vendor_name only exists in the look-up
    assert (row["brand"], row["category"], row["vendor_name"]) == ("Kiva Confections", "Edibles", "Kiva Sales")

    rec["brandName"] = None
    rec["category"] = None
    row = only_row(decode_page("products", page(rec), timezone=LA, lookups=lookups).frames[PRODUCTS.staging])
    assert (row["brand"], row["category"]) == ("Kiva (brand list)", "Edibles (list)")

    rec["brandName"] = ""
    rec["brandId"] = "unknown-brand"
    row = only_row(decode_page("products", page(rec), timezone=LA, lookups=lookups).frames[PRODUCTS.staging])
    assert row["brand"] == ""  # nothing better known: kept as sent


def test_resolve_redates_local_dates_and_keeps_columns():
    decoded = decode_page("members", (SAMPLES / "members.json").read_bytes(), timezone=LA)
    frame = decoded.frames[CUSTOMERS.staging]
    again = resolve(frame, CUSTOMERS, {}, "Asia/Tokyo")
    assert again.columns == frame.columns
    assert only_row(again)["last_visited"] == date(2025, 10, 30)


# --- validation: quarantine and drift ----------------------------------------------------------


def test_records_that_cannot_be_stored_are_quarantined_with_a_reason():
    good = record("members")
    no_id = record("members") | {"id": None}
    empty_id = record("members") | {"id": ""}
    no_modified = record("members") | {"id": "m-no-mod"}
    del no_modified["modified"]
    bad_money = record("members") | {"id": "m-bad-money", "loyaltyPoints": "lots"}
    object_text = record("members") | {"id": "m-obj", "email": {"address": "x@y"}}
    bad_shape = record("members") | {"id": "m-shape", "address": "12 Main St"}
    bad_time = record("members") | {"id": "m-time", "modified": "yesterday"}
    decoded = decode_page(
        "members", page(good, no_id, empty_id, no_modified, bad_money, object_text, bad_shape, bad_time, None, 7), timezone=LA
    )
    assert decoded.frames[CUSTOMERS.staging].get_column("member_id").to_list() == [good["id"]]
    q = decoded.quarantine
    assert q.height == 9 and set(q.get_column("entity")) == {"members"}
    reasons = dict(zip(q.get_column("record_id").fill_null("-").to_list(), q.get_column("reason").to_list(), strict=False))
    assert reasons["m-no-mod"] == "record has no modified time"
    assert "customers.loyalty_points: expected a number, got the string 'lots'" in reasons["m-bad-money"]
    assert "customers.email: expected a string, got object" in reasons["m-obj"]
    assert "record cannot be decoded" in reasons["m-shape"] and "$.address" in reasons["m-shape"]
    assert "expected epoch milliseconds" in reasons["m-time"]
    assert q.filter(pl.col("reason").str.starts_with("record has no id")).height == 2
    assert q.filter(pl.col("reason").str.contains("Expected `object`")).height == 2  # null and 7
    # the payload is the record as sent
    payload = json.loads(q.filter(pl.col("record_id") == "m-bad-money").get_column("payload")[0])
    assert payload == bad_money


def test_drift_that_can_be_carried_is_carried_and_counted():
    m1 = record("members") | {"id": "m1", "primaryPhone": 5551234567, "status": "Banned", "brandNewField": 1}
    m2 = record("members") | {"id": "m2", "medical": "true", "loyaltyPoints": "12.50", "lastVisitDate": "1761793355390"}
    m3 = record("members") | {"id": "m3", "loyaltyPoints": 1.123456789012345, "textOptIn": 1, "email": "", "zipCode": None}
    m3["address"]["zipCode"] = 90210
    decoded = decode_page("members", page(m1, m2, m3), timezone=LA)
    assert decoded.quarantine.is_empty()
    rows = {r["member_id"]: r for r in decoded.staging(CUSTOMERS).to_dicts()}
    assert rows["m1"]["phone"] == "5551234567" and rows["m1"]["customer_type"] == "Banned"
    assert rows["m2"]["is_medical"] is True and rows["m2"]["loyalty_points"] == Decimal("12.50")
    assert rows["m2"]["last_visited"] == date(2025, 10, 29)
    assert rows["m3"]["loyalty_points"] == Decimal("1.1234567890") and rows["m3"]["text_opt_in"] is True
    assert rows["m3"]["zip_code"] == "90210"
    assert decoded.drift == {
        "number_as_text:customers.phone": 1,
        "unknown_enum:customers.customer_type": 1,
        "extra_field:members.brandNewField": 1,
        "extra_field:members.zipCode": 1,
        "text_as_boolean:customers.is_medical": 1,
        "text_as_number:customers.loyalty_points": 1,
        "text_as_epoch:customers.last_visited": 1,
        "rounded:customers.loyalty_points": 1,
        "number_as_boolean:customers.text_opt_in": 1,
        "number_as_text:customers.zip_code": 1,
    }


def test_transaction_items_quarantined_alone_and_parents_with_their_items():
    tx = record("transactions")
    tx["cart"]["items"][1]["id"] = None
    tx["cart"]["items"][0]["quantity"] = "1.5"
    tx["cart"]["paymentOption"] = "Crypto"
    tx["cart"]["items"][0]["status"] = "Gifted"
    bad = record("transactions") | {"id": "tx-bad"}
    bad["cart"]["total"] = [1, 2]
    decoded = decode_page("transactions", page(tx, bad), timezone=LA)
    assert decoded.frames[TRANSACTIONS.staging].get_column("transaction_id").to_list() == [tx["id"]]
    items = decoded.frames[TRANSACTION_ITEMS.staging]
    assert items.get_column("item_id").to_list() == ["dae709068608886f7a5c9dda"]
    assert items.get_column("quantity").to_list() == [Decimal("1.5")]
    q = decoded.quarantine.sort("entity")
    assert q.select("entity", "record_id").rows() == [("transaction_items", None), ("transactions", "tx-bad")]
    assert json.loads(q.get_column("payload")[0]) == tx["cart"]["items"][1]  # the item as sent
    assert "transactions.total_amount: expected a number, got array" in q.get_column("reason")[1]
    assert decoded.drift == {
        "text_as_number:transaction_items.quantity": 1,
        "unknown_enum:transactions.payment_type": 1,
        "unknown_enum:transaction_items.item_status": 1,
    }


def test_undeclared_fields_are_counted_exactly_whatever_the_key_order():
    """Records are decoded and checked for undeclared fields in one pass where they have none;
    the others are counted one by one. Both ways give the same frames as not checking."""
    plain = record("transactions") | {"id": "t-plain"}
    extra_top = record("transactions") | {"id": "t-top", "loyaltyTier": "gold", "_meta": {"x": 1}}
    extra_item = record("transactions") | {"id": "t-item"}
    extra_item["cart"]["items"][0]["lotNumber"] = "L1"
    extra_item["cart"]["items"][1]["lotNumber"] = "L2"
    shuffled = dict(reversed(list((record("transactions") | {"id": "t-shuffled"}).items())))
    no_cart = {k: v for k, v in record("transactions").items() if k != "cart"} | {"id": "t-nocart"}
    body = page(plain, extra_top, extra_item, shuffled, no_cart)
    checked = decode_page("transactions", body, timezone=LA)
    unchecked = decode_page("transactions", body, timezone=LA, check_fields=False)
    assert checked.drift == {
        "extra_field:transactions.loyaltyTier": 1,
        "extra_field:transactions._meta": 1,
        "extra_field:transaction_items.lotNumber": 2,
    }
    assert unchecked.drift == {}
    assert checked.quarantine.is_empty() and unchecked.quarantine.is_empty()
    for name, frame in checked.frames.items():
        assert frame.equals(unchecked.frames[name]), name
    ids = checked.frames[TRANSACTIONS.staging].get_column("transaction_id").to_list()
    assert ids == ["t-plain", "t-top", "t-item", "t-shuffled", "t-nocart"]


@pytest.mark.parametrize("entity", ["members", "transactions", "products"])
def test_a_page_read_in_one_call_gives_what_a_pass_reads(entity):
    """The usual page is decoded in one call, and its records then stand in for the passes'
    refs: same id, modified, created and refund link as reading the body again."""
    recs = [record(entity) | {"id": f"r{i}", "modified": 1_700_000_000_000 + i} for i in range(3)]
    if entity == "transactions":
        recs[1] |= {"transType": "Refund", "parentTransactionId": "r0", "created": 1_700_000_000_123}
    body = page(*recs)
    decode_page(entity, page(record(entity)), timezone=LA)  # the first page builds the one-call decoder
    decoded = decode_page(entity, body, timezone=LA)
    assert decoded.refs is not None and decoded.count == 3
    fields = ("id", "modified", "created", "transType", "parentTransactionId")
    assert [tuple(getattr(r, f, None) for f in fields) for r in decoded.refs] == [tuple(getattr(r, f) for f in fields) for r in refs(body)]
    window = DayWindow(date(2026, 1, 1), date(2026, 1, 7))
    listed = RawPage(f"/{entity}", {}, body, 3, 0, 100, 3, datetime.now(UTC), 0.0, window)
    with_refs, reread = Pass(window), Pass(window)
    with_refs.add(listed, decoded.refs)
    reread.add(listed)
    assert (with_refs.seen, with_refs.refunds, with_refs.ids) == (reread.seen, reread.refunds, reread.ids)
    if entity == "transactions":
        assert with_refs.refunds == {"r0": 1_700_000_000_123}
    # a record with an undeclared field sends the page the long way, refs read from the body
    assert decode_page(entity, page(*recs, recs[0] | {"brandNewField": 1}), timezone=LA).refs is None


def test_date_falls_back_to_end_then_start_time_and_zero_means_unset():
    tx = record("transactions") | {"completedTime": 0}
    row = only_row(decode_page("transactions", page(tx), timezone=LA).frames[TRANSACTIONS.staging])
    assert row["date"] == utc(2025, 10, 23, 17, 16, 33, 219000) and row["completed_time"] is None
    tx = record("transactions") | {"completedTime": None, "endTime": None}
    row = only_row(decode_page("transactions", page(tx), timezone=LA).frames[TRANSACTIONS.staging])
    assert row["date"] == utc(2025, 10, 23, 17, 16, 28, 58000)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("  Ann\t\u00a0 Marie ", "Lee", "Ann Marie Lee"),
        ("", "PATEL", "PATEL"),
        (None, "Lee", "Lee"),
        ("Zoë 🌿", None, "Zoë 🌿"),
        ("", "", None),
        (None, None, None),
    ],
)
def test_name_is_trimmed_with_single_spaces(first, last, expected):
    rec = record("members") | {"firstName": first, "lastName": last}
    assert only_row(decode_page("members", page(rec), timezone=LA).frames[CUSTOMERS.staging])["name"] == expected


def test_text_with_nul_bytes_is_cleaned_and_counted():
    rec = record("members") | {"email": "a\u0000b@example.com"}
    decoded = decode_page("members", page(rec), timezone=LA)
    assert only_row(decoded.frames[CUSTOMERS.staging])["email"] == "ab@example.com"
    assert decoded.drift == {"nul_in_text:customers.email": 1}


def test_a_body_that_is_not_a_page_raises_and_bad_parameters_are_configuration_errors():
    for body in (b"", b"<html>502</html>", b'{"values": 3}', b"[1, 2]"):
        with pytest.raises(InputDataError):
            decode_page("members", body, timezone=LA)
    with pytest.raises(ConfigurationError, match="valid: members"):
        decode_page("customers", page(), timezone=LA)
    with pytest.raises(ConfigurationError, match="time zone"):
        decode_page("members", page(), timezone="Mars/Olympus")


def test_empty_page_gives_empty_typed_frames():
    decoded = decode_page("transactions", page(), timezone=LA)
    for t in (TRANSACTIONS, TRANSACTION_ITEMS):
        assert decoded.frames[t.staging].is_empty()
        assert dict(decoded.frames[t.staging].schema) == frame_schema(t)
    assert decode_page("employees", page(), timezone=LA).frames["employees"].is_empty()


# --- realistic pages from the simulator --------------------------------------------------------


def _get(client, path: str, params: dict):
    for _ in range(3):  # a real client retries 5xx; so does this one
        response = client.get(path, params=params)
        if response.status_code < 500:
            break
    response.raise_for_status()
    return response


def _fetch_all(client, path: str, params: dict | None = None) -> list[bytes]:
    pages, skip = [], 0
    while True:
        response = _get(client, path, {**(params or {}), "skip": skip, "limit": 100})
        data = response.json()
        pages.append(response.content)
        skip += len(data["values"])
        if not data["values"] or skip >= data["total"]:
            return pages


@pytest.mark.slow
def test_simulator_pages_decode_to_the_simulators_truth(sim, sim_client):
    truth = sim.truth()
    tz = truth["shop"].get_column("timeZone")[0]
    never_dropped = 0
    # members and products: every page
    for entity, path, table, key in (
        ("members", "/members", CUSTOMERS, "member_id"),
        ("products", "/products/modified", PRODUCTS, "product_id"),
    ):
        frames, total = [], 0
        for body in _fetch_all(sim_client, path):
            decoded = decode_page(entity, body, timezone=tz)
            total += decoded.count
            never_dropped += decoded.count - decoded.frames[table.staging].height - decoded.quarantine.height
            frames.append(decoded.staging(table))
        got = pl.concat(frames)
        assert got.height + 0 <= total and got.get_column(key).n_unique() == got.height
        expected = truth[entity]
        assert set(got.get_column(key)) <= set(expected.get_column("id"))
        joined = got.join(expected, left_on=key, right_on="id", how="inner")
        assert joined.height == got.height
        if entity == "members":
            # money, booleans, timestamps exactly as the simulator made them
            assert joined.filter(pl.col("loyalty_points") != pl.col("loyaltyPoints")).is_empty()
            assert joined.filter(pl.col("is_medical") != pl.col("medical")).is_empty()
            assert (joined.get_column("blaze_modified").dt.epoch("ms") == joined.get_column("modified")).all()
        else:
            assert joined.filter(pl.col("retail_price") != pl.col("unitPrice")).is_empty()
            assert joined.filter(pl.col("image_url").ne_missing(pl.col("assets[0].publicURL"))).is_empty()
    # transactions of the default window (the last 7 days): parents and items
    for body in _fetch_all(sim_client, "/transactions"):
        decoded = decode_page("transactions", body, timezone=tz)
        never_dropped += decoded.count - decoded.frames[TRANSACTIONS.staging].height - decoded.quarantine.filter(
            pl.col("entity") == "transactions"
        ).height
        txs = decoded.staging(TRANSACTIONS).join(truth["transactions"], left_on="transaction_id", right_on="id")
        assert txs.height == decoded.frames[TRANSACTIONS.staging].height
        assert txs.filter(pl.col("total_amount") != pl.col("cart.total")).is_empty()
        assert txs.filter(pl.col("total_tax") != pl.col("cart.totalCalcTax")).is_empty()
        items = decoded.staging(TRANSACTION_ITEMS).join(truth["items"], left_on="item_id", right_on="id")
        assert items.height == decoded.frames[TRANSACTION_ITEMS.staging].height
        assert items.filter(pl.col("transaction_id") != pl.col("transactionId")).is_empty()
        assert items.filter(pl.col("total_price") != pl.col("finalPrice")).is_empty()
        assert items.filter(pl.col("quantity") != pl.col("quantity_right")).is_empty()
    assert never_dropped == 0


def test_simulator_lookups_resolve_names(sim, sim_client):
    truth = sim.truth()
    lookups: dict[str, pl.DataFrame] = {}
    for entity, path in (
        ("employees", "/employees"),
        ("store", "/store"),
        ("vendors", "/vendors"),
        ("categories", "/store/inventory/categories"),
        ("brands", "/store/inventory/brands"),
        ("terminals", "/store/terminals"),
    ):
        body = _get(sim_client, path, {"limit": 100}).content
        decoded = decode_page(entity, body, timezone=LA)
        assert decoded.quarantine.is_empty()
        lookups.update(decoded.frames)
    shop = truth["shop"].row(0, named=True)
    assert lookups["shop"].rows() == [(shop["id"], shop["name"], shop["timeZone"], shop["created"])]
    employees = truth["employees"].select("id", pl.concat_str("firstName", "lastName", separator=" ").alias("expected"))
    got = lookups["employees"].join(employees, on="id")
    assert got.height == truth["employees"].height and (got.get_column("name") == got.get_column("expected")).all()
    body = _get(sim_client, "/transactions", {"limit": 100}).content
    tx = decode_page("transactions", body, timezone=shop["timeZone"], lookups=lookups).staging(TRANSACTIONS)
    assert tx.height and tx.get_column("shop_location").eq(shop["name"]).all()
    assert tx.join(employees, left_on="seller_id", right_on="id").filter(pl.col("staff_name") != pl.col("expected")).is_empty()
    products = pl.concat(
        decode_page("products", b, timezone=LA, lookups=lookups).staging(PRODUCTS) for b in _fetch_all(sim_client, "/products/modified")
    )
    vendors = truth["vendors"].select("id", pl.col("name").alias("expected"))
    joined = products.join(truth["products"].select("id", "vendorId"), left_on="product_id", right_on="id").join(
        vendors, left_on="vendorId", right_on="id", how="left"
    )
    assert joined.filter(pl.col("vendor_name").ne_missing(pl.col("expected"))).is_empty()
    assert products.get_column("category").null_count() == 0


def test_every_mapped_table_has_a_frame_schema():
    for t in TABLES:
        schema = frame_schema(t)
        assert list(schema)[: len(t.columns)] == [c.name for c in t.columns]
        assert schema["_modified_ms"] == pl.Int64
