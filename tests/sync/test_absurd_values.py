"""Absurd values are carried and counted, an absurd ``modified`` is quarantined; deletions are reported."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from _sync_pages import member, page, product, transaction

from blaze_workbook.sync import EntityResult, SyncSummary, decode_page
from blaze_workbook.sync._columns import OVERSIZE_TEXT_BYTES, PLAUSIBLE_UNTIL_MS

TZ = "America/Los_Angeles"
YEAR_3000 = 32_503_680_000_000


def test_negative_quantities_late_instants_and_oversize_text_are_stored_and_counted():
    tx = transaction(1)
    tx["cart"]["items"][0]["quantity"] = -3
    tx["completedTime"] = YEAR_3000
    d = decode_page("transactions", page(tx, transaction(2)), timezone=TZ)
    assert d.quarantine.height == 0
    assert d.drift == {"negative_value:transaction_items.quantity": 1, "implausible_timestamp:transactions.completed_time": 1,
                       "implausible_timestamp:transactions.date": 1}  # `date` is the completed time
    items = d.frames["transaction_items_blaze_staging"]
    assert items.filter(items["item_id"] == "t0001-0")["quantity"].item() == Decimal(-3)

    big = "x" * (OVERSIZE_TEXT_BYTES + 1)
    members = decode_page("members", page(member(1, firstName=big), member(2, lastVisitDate=YEAR_3000), member(3, loyaltyPoints=-1),
                                          member(4, firstName="x" * (OVERSIZE_TEXT_BYTES - 64))), timezone=TZ)
    assert members.drift == {"oversize_text:customers.name": 1, "implausible_timestamp:customers.last_visited": 1,
                             "negative_value:customers.loyalty_points": 1}
    frame = members.frames["customers_blaze_staging"]
    assert frame.height == 4 and frame.filter(frame["member_id"] == "m0002")["last_visited"].item() == date(2999, 12, 31)
    assert frame.filter(frame["member_id"] == "m0001")["name"].item().startswith("x" * 1000)

    products = decode_page("products", page(product(1, unitPrice=-5), product(2)), timezone=TZ)
    assert products.drift == {"negative_value:products.retail_price": 1}


def test_a_modified_time_after_2100_quarantines_the_record_with_its_items():
    edge = PLAUSIBLE_UNTIL_MS - 1
    d = decode_page("transactions", page(transaction(1, YEAR_3000), transaction(2, edge)), timezone=TZ)
    assert d.quarantine.get_column("record_id").to_list() == ["t0001"]
    assert "implausible modified time" in d.quarantine["reason"].item() and '"t0001"' in d.quarantine["payload"].item()
    assert d.frames["transactions_blaze_staging"]["transaction_id"].to_list() == ["t0002"]
    assert set(d.frames["transaction_items_blaze_staging"]["transaction_id"]) == {"t0002"}
    assert d.drift == {}  # 2099-12-31T23:59:59.999Z is late, not absurd
    m = decode_page("members", page(member(1, YEAR_3000)), timezone=TZ)
    assert m.quarantine.height == 1 and m.frames["customers_blaze_staging"].height == 0


def test_deletions_are_reported_in_the_summary():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    summary = SyncSummary("r", "incremental", now, now, [EntityResult("members", "synced", deleted=2),
                                                          EntityResult("products", "synced", deleted=1)])
    assert summary.deleted == 3
    assert summary.frame().select("entity", "deleted").rows() == [("members", 2), ("products", 1)]
    as_json = json.loads(json.dumps(summary.as_dict()))
    assert as_json["deleted"] == 3 and as_json["entities"]["members"]["deleted"] == 2
    assert "3 deleted in Blaze" in str(summary)
