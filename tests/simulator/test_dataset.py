"""The simulator's dataset: presets, determinism, ordering, filtering, paging, live events, touch."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import polars as pl
import pytest

from blaze_workbook.blaze.simulator.dataset import Dataset, Query
from blaze_workbook.blaze.simulator.presets import DEFAULT_NOW_MS, PRESETS, SHOP_TZ, get_preset
from blaze_workbook.errors import ConfigurationError

TZ = ZoneInfo(SHOP_TZ)
PAGED = ("members", "transactions", "products", "products_modified", "vendors", "terminals", "brands",
         "employees", "loyalty_activity")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.generate("tiny")


@pytest.fixture(scope="module")
def truth(ds: Dataset) -> dict[str, pl.DataFrame]:
    return ds.truth()


@pytest.fixture(scope="module")
def some_tx(ds: Dataset) -> list[dict]:
    """The first and the last 500 transactions of the tiny shop, rendered once for the module."""
    return [r for skip in (0, 100, 200, 300, 400, 2_500, 2_600, 2_700, 2_800, 2_900)
            for r in ds.page("transactions", Query(skip=skip, limit=100)).records]


def last(ds: Dataset, entity: str) -> dict:
    return ds.page(entity, Query(skip=ds.page(entity, Query(limit=1)).total - 1, limit=1)).records[0]


def all_records(ds: Dataset, entity: str, **kw) -> list[dict]:
    """Every record of a listing, paged by 100 as a client would."""
    out, skip = [], 0
    while True:
        page = ds.page(entity, Query(skip=skip, limit=100, **kw))
        out += page.records
        skip += 100
        if skip >= page.total:
            return out


def local_day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, TZ).date()


# -- presets -----------------------------------------------------------------------------------
def test_presets_and_defaults():
    assert DEFAULT_NOW_MS == 1_794_772_800_000  # 2026-11-15T20:00:00Z
    assert SHOP_TZ == "America/Los_Angeles"
    tiny, seed, real = PRESETS["tiny"], PRESETS["seed"], PRESETS["real"]
    assert (tiny.members, tiny.products, tiny.transactions, tiny.years) == (300, 120, 3_000, 1.0)
    assert (seed.members, seed.products, seed.years) == (10_500, 7_900, 4.5)
    assert (real.members, real.products) == (131_005, 7_868)
    assert get_preset("demo").transactions == 40_000


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ConfigurationError) as err:
        get_preset("huge")
    assert all(name in str(err.value) for name in PRESETS)
    with pytest.raises(ConfigurationError):
        Dataset.generate("huge")


def test_tiny_counts(ds: Dataset):
    total = {e: ds.page(e, Query(limit=1)).total for e in Dataset.ENTITIES}
    assert total["members"] == 300 and total["products"] == 120 and total["products_modified"] == 120
    assert total["transactions"] == 3_000
    assert (total["employees"], total["terminals"], total["vendors"], total["brands"]) == (6, 3, 8, 12)
    assert total["categories"] == 9
    assert ds.page("categories", Query(include_deleted=True)).total == 10
    assert 2_000 < total["loyalty_activity"] < 3_500
    assert ds.now_ms == DEFAULT_NOW_MS and ds.tz == SHOP_TZ


# -- determinism -------------------------------------------------------------------------------
def _fingerprint(d: Dataset) -> bytes:
    parts = [orjson.dumps(d.page(e, Query(skip=7, limit=20)).records) for e in Dataset.ENTITIES]
    parts.append(orjson.dumps(d.store()))
    return b"".join(parts)


def test_same_arguments_same_bytes(ds: Dataset):
    again = Dataset.generate("tiny", seed=0, now_ms=DEFAULT_NOW_MS)
    assert _fingerprint(again) == _fingerprint(ds)
    tail = Query(skip=2_950, limit=50)
    assert orjson.dumps(again.page("transactions", tail).records) == orjson.dumps(ds.page("transactions", tail).records)


def test_other_seed_or_now_other_data(ds: Dataset):
    assert _fingerprint(Dataset.generate("tiny", seed=1)) != _fingerprint(ds)
    later = Dataset.generate("tiny", now_ms=DEFAULT_NOW_MS + 86_400_000)
    assert later.now_ms == DEFAULT_NOW_MS + 86_400_000
    assert _fingerprint(later) != _fingerprint(ds)


# -- ordering and filtering --------------------------------------------------------------------
def test_members_modified_desc_then_id(ds: Dataset):
    recs = all_records(ds, "members")
    keys = [(-r["modified"], r["id"]) for r in recs]
    assert keys == sorted(keys) and len({r["id"] for r in recs}) == 300


def test_members_window_is_inclusive(ds: Dataset, truth):
    mods = sorted(truth["members"]["modified"].to_list())
    lo, hi = mods[100], mods[200]
    page = ds.page("members", Query(start_ms=lo, end_ms=hi, limit=100))
    assert page.total == 101
    got = all_records(ds, "members", start_ms=lo, end_ms=hi)
    assert {r["modified"] for r in got} >= {lo, hi}
    assert all(lo <= r["modified"] <= hi for r in got)
    assert ds.page("members", Query(start_ms=lo)).total == 200
    assert ds.page("members", Query(end_ms=hi)).total == 201
    assert ds.page("members", Query(start_ms=hi + 1, end_ms=hi + 1)).total == 0


def test_transactions_processed_asc_and_local_days(ds: Dataset, truth, some_tx):
    keys = [(r["processedTime"], r["id"]) for r in some_tx]
    assert keys == sorted(keys)
    expected = truth["transactions"].sort("processedTime", "id")["id"].to_list()
    assert [r["id"] for r in some_tx] == expected[:500] + expected[-500:]
    days = truth["transactions"]["processedTime"].map_elements(local_day, return_dtype=pl.Date)
    start, end = dt.date(2026, 10, 1), dt.date(2026, 10, 7)
    expected = int(((days >= start) & (days <= end)).sum())
    page = ds.page("transactions", Query(start_day=start, end_day=end, limit=100))
    assert page.total == expected > 0
    got = all_records(ds, "transactions", start_day=start, end_day=end)
    assert {local_day(r["processedTime"]) for r in got} <= {start + dt.timedelta(days=k) for k in range(7)}
    assert {local_day(r["processedTime"]) for r in got} >= {start, end}  # both bounds inclusive


def test_evening_sale_belongs_to_its_local_day(ds: Dataset, some_tx):
    evening = next(r for r in some_tx
                   if dt.datetime.fromtimestamp(r["processedTime"] / 1000, TZ).hour >= 20
                   and dt.datetime.fromtimestamp(r["processedTime"] / 1000, dt.UTC).date()
                   > local_day(r["processedTime"]))
    day = local_day(evening["processedTime"])
    on_day = all_records(ds, "transactions", start_day=day, end_day=day)
    assert evening["id"] in {r["id"] for r in on_day}
    next_day = all_records(ds, "transactions", start_day=day + dt.timedelta(days=1), end_day=day + dt.timedelta(days=1))
    assert evening["id"] not in {r["id"] for r in next_day}


@pytest.mark.parametrize("entity", ["products", "vendors", "terminals", "brands", "employees", "categories"])
def test_id_ordered_lists(ds: Dataset, entity: str):
    ids = [r["id"] for r in all_records(ds, entity)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_products_filters(ds: Dataset, truth):
    p = truth["products"]
    assert ds.page("products", Query(active=True)).total == int(p["active"].sum())
    assert ds.page("products", Query(active=False)).total == int((~p["active"]).sum())
    assert ds.page("products", Query(active=True, instock=True)).total == int((p["active"] & p["instock"]).sum())
    mods = sorted(p["modified"].to_list())
    lo, hi = mods[10], mods[60]
    got = all_records(ds, "products", start_ms=lo, end_ms=hi)
    assert len(got) == 51 and [r["id"] for r in got] == sorted(r["id"] for r in got)
    by_mod = all_records(ds, "products_modified", start_ms=lo, end_ms=hi)
    assert [(r["modified"], r["id"]) for r in by_mod] == sorted((r["modified"], r["id"]) for r in got)


def test_vendors_window(ds: Dataset, truth):
    mods = sorted(truth["vendors"]["modified"].to_list())
    assert ds.page("vendors", Query(start_ms=mods[2], end_ms=mods[5])).total == 4


def test_brands_term_and_categories_deleted(ds: Dataset):
    names = [b["name"] for b in all_records(ds, "brands")]
    term = names[3][1:4].upper()
    got = ds.page("brands", Query(term=term)).records
    assert got and all(term.lower() in b["name"].lower() for b in got)
    assert len(got) == sum(term.lower() in n.lower() for n in names)
    assert all(not c["deleted"] for c in ds.page("categories", Query()).records)
    assert any(c["deleted"] for c in ds.page("categories", Query(include_deleted=True)).records)


def test_loyalty_activity_order_and_member_filter(ds: Dataset):
    recs = all_records(ds, "loyalty_activity")
    assert [(r["activityDate"], r["id"]) for r in recs] == sorted((r["activityDate"], r["id"]) for r in recs)
    member = recs[5]["memberId"]
    mine = all_records(ds, "loyalty_activity", member_id=member)
    assert mine and all(r["memberId"] == member for r in mine)
    assert len(mine) == sum(r["memberId"] == member for r in recs)
    assert ds.page("loyalty_activity", Query(member_id="not-an-id")).total == 0


@pytest.mark.parametrize("entity", PAGED)
def test_paging_slices_and_cap(ds: Dataset, entity: str, some_tx):
    total = ds.page(entity, Query(limit=1)).total
    if entity == "transactions":
        whole = some_tx[:500]
    else:
        whole = all_records(ds, entity)
        assert len(whole) == total
    page = ds.page(entity, Query(skip=3, limit=7))
    assert [r["id"] for r in page.records] == [r["id"] for r in whole[3:10]]
    assert ds.page(entity, Query(skip=total, limit=10)).records == []
    assert len(ds.page(entity, Query(limit=500)).records) == min(100, total)


def test_get_and_loyalty_points(ds: Dataset):
    for entity in ("members", "transactions", "products"):
        rec = ds.page(entity, Query(skip=11, limit=1)).records[0]
        assert orjson.dumps(ds.get(entity, rec["id"])) == orjson.dumps(rec)
        assert ds.get(entity, "0" * 24) is None and ds.get(entity, "nope") is None
    member = ds.page("members", Query(limit=1)).records[0]
    assert ds.loyalty_points(member["id"]) == {"memberId": member["id"], "loyaltyPoints": member["loyaltyPoints"],
                                               "lifetimePoints": member["lifetimePoints"]}
    assert ds.loyalty_points("0" * 24) is None


def test_store(ds: Dataset):
    store = ds.store()
    assert list(store) == ["shop", "contract", "toleranceMap", "companyLogoURL"]
    assert store["shop"]["timeZone"] == SHOP_TZ
    member = ds.page("members", Query(limit=1)).records[0]
    assert store["shop"]["id"] == member["shopId"] and store["shop"]["companyId"] == member["companyId"]


# -- live events and touch ---------------------------------------------------------------------
def test_step_is_deterministic_and_advances_clock():
    a, b = Dataset.generate("tiny"), Dataset.generate("tiny")
    events = a.step(1) + a.step(1)
    assert events == b.step(2)
    assert 60_000 <= a.now_ms - DEFAULT_NOW_MS <= 600_000
    assert a.now_ms == b.now_ms
    assert _fingerprint(a) == _fingerprint(b)


def test_step_events_change_what_they_claim():
    ds = Dataset.generate("tiny")
    before = {e: ds.page(e, Query(limit=1)).total for e in ("members", "transactions")}
    seen: dict[str, int] = {}
    prices = {r["id"]: r["unitPrice"] for r in all_records(ds, "products")}
    for _ in range(60):
        (event,) = ds.step(1)
        kind, entity, now = event["kind"], event["entity"], ds.now_ms
        seen[kind] = seen.get(kind, 0) + 1
        rec = ds.get(entity, event["id"])
        if kind in ("member_edit", "member_new"):
            assert ds.page("members", Query(limit=1)).records[0]["id"] == rec["id"]
            assert now <= rec["modified"] <= now + 100
        elif kind == "price_change":
            tail = ds.page("products_modified", Query(skip=119, limit=1)).records[0]
            assert tail["id"] == rec["id"] and rec["modified"] == now
            assert rec["unitPrice"] != prices[rec["id"]]
            prices[rec["id"]] = rec["unitPrice"]
        else:
            assert last(ds, "transactions")["id"] == rec["id"] and rec["processedTime"] == now
            if kind == "refund":
                parent = ds.get("transactions", rec["parentTransactionId"])
                assert rec["transType"] == "Refund" and rec["status"].startswith("Refund")
                assert parent["transType"] == "Sale" and parent["processedTime"] < rec["processedTime"]
                assert parent["modified"] > now and parent["transactionRefundStatus"] != "None"
            else:
                assert rec["status"] == "Completed" and rec["transType"] == "Sale"
                member = ds.get("members", rec["memberId"])
                assert member["lastVisitDate"] == now and member["modified"] > now
                assert ds.page("members", Query(limit=1)).records[0]["id"] == member["id"]
    assert set(seen) == {"member_edit", "member_new", "transaction_new", "refund", "price_change"}
    after = {e: ds.page(e, Query(limit=1)).total for e in ("members", "transactions")}
    assert after["members"] == before["members"] + seen["member_new"]
    assert after["transactions"] == before["transactions"] + seen["transaction_new"] + seen["refund"]
    today = local_day(ds.now_ms)
    recent = ds.page("transactions", Query(start_day=today - dt.timedelta(days=1), end_day=today, limit=1))
    new = seen["transaction_new"] + seen["refund"]
    assert ds.page("transactions", Query(skip=recent.total - new, limit=100, start_day=today - dt.timedelta(days=1),
                                         end_day=today)).records[0]["processedTime"] > DEFAULT_NOW_MS


def test_touch_moves_records():
    ds = Dataset.generate("tiny")
    rng = np.random.Generator(np.random.PCG64(7))
    moved = ds.touch("members", rng)
    head = ds.page("members", Query(limit=1)).records[0]
    assert head["id"] == moved and head["modified"] == ds.now_ms
    new_id = ds.touch("members", rng, insert=True)
    assert ds.page("members", Query(limit=1)).total == 301
    assert new_id in {r["id"] for r in ds.page("members", Query(limit=2)).records}
    sale = ds.touch("transactions", rng, insert=True)
    assert last(ds, "transactions")["id"] == sale
    product = ds.touch("products_modified", rng)
    assert ds.page("products_modified", Query(skip=119, limit=1)).records[0]["id"] == product
    new_product = ds.touch("products", rng, insert=True)
    assert ds.page("products", Query()).total == 121 and ds.get("products", new_product)["modified"] == ds.now_ms
    assert new_product in {r["id"] for r in all_records(ds, "products")}
    assert ds.now_ms == DEFAULT_NOW_MS  # touching never moves the clock


def test_export_truth(tmp_path, ds: Dataset):
    paths = ds.export_truth(tmp_path / "truth")
    names = {p.stem for p in paths}
    assert names == {"members", "transactions", "items", "products", "vendors", "brands", "categories", "employees",
                     "terminals", "member_groups", "loyalty_activity", "shop"}
    back = pl.read_parquet(tmp_path / "truth" / "transactions.parquet")
    assert back.shape == ds.truth()["transactions"].shape
    assert back.schema["cart.total"] == pl.Decimal(18, 2)


def test_bench_runs(capsys):
    from blaze_workbook.blaze.simulator.dataset import bench

    out = bench("tiny", seconds=0.3)
    assert out["transactions_avg_bytes"] > 10_000 and out["transactions_MBps_cpu"] > 0
    assert "transactions_MBps_wall" in capsys.readouterr().out
