"""Bad records, latency spikes and ``amend`` (delete in Blaze, move ``modified``): unit and over 127.0.0.1."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from _fixtures_sim import SIM_HEADERS, tiny_config

from blaze_workbook.blaze.simulator import serve
from blaze_workbook.blaze.simulator.faults import (
    BAD_RECORD_KINDS,
    OVERSIZE_CHARS,
    YEAR_3000_MS,
    FaultInjector,
    Faults,
)
from blaze_workbook.errors import ConfigurationError


def _member(i: int) -> dict:
    return {"id": f"{i:024x}", "modified": 1_700_000_000_000 + i, "loyaltyPoints": 12.5, "lastVisitDate": None,
            "status": "Active", "firstName": "Ann"}


def test_bad_records_depend_on_seed_and_id_only():
    records = [_member(i) for i in range(2000)]
    a = FaultInjector(Faults(bad_record_rate=0.2), seed=4)
    b = FaultInjector(Faults(bad_record_rate=0.2), seed=4)
    out_a, broken_a = a.bad_records("members", records)
    _, broken_b = b.bad_records("members", list(reversed(records)))
    assert sorted(broken_a) == sorted(broken_b)  # the order of serving changes nothing
    assert broken_a != FaultInjector(Faults(bad_record_rate=0.2), seed=5).bad_records("members", records)[1]
    assert 300 < len(broken_a) < 500
    kinds = Counter(kind for _, _, kind in broken_a)
    assert set(kinds) == set(BAD_RECORD_KINDS)
    assert records[0] == _member(0)  # the originals are untouched
    by_id = {r.get("id"): r for r in out_a}
    for _, rid, kind in broken_a:
        rec = by_id.get(rid)
        if kind == "no_id":
            assert rid not in by_id
            continue
        check = {"no_modified": lambda r: "modified" not in r, "future_modified": lambda r: r["modified"] == YEAR_3000_MS,
                 "wrong_type": lambda r: r["loyaltyPoints"] == "n/a", "negative": lambda r: r["loyaltyPoints"] == -12.5,
                 "year_3000": lambda r: r["lastVisitDate"] == YEAR_3000_MS,
                 "unknown_enum": lambda r: r["status"] != "Active", "oversize": lambda r: len(r["firstName"]) == OVERSIZE_CHARS}
        assert check[kind](rec), (kind, rec)
    assert FaultInjector(Faults(), seed=4).bad_records("members", records) == (records, [])
    assert FaultInjector(Faults(bad_record_rate=1.0)).bad_records("vendors", records[:3])[1] == []


def test_a_kind_without_its_field_leaves_the_record_whole():
    record = {"id": "a" * 24, "modified": 1, "loyaltyPoints": 0, "status": "Active", "firstName": "A"}
    injector = FaultInjector(Faults(bad_record_rate=1.0), seed=0)
    for i in range(200):  # zero points cannot be made negative: served as is, not counted
        rec = dict(record, id=f"{i:024x}")
        out, broken = injector.bad_records("members", [rec])
        if broken and broken[0][2] == "negative":
            pytest.fail("a zero was counted as made negative")
        if not broken:
            assert out == [rec]


def test_latency_spikes_draw_apart_from_the_other_faults():
    base, spiky = FaultInjector(Faults(error_rate=0.3), 1), FaultInjector(Faults(error_rate=0.3, latency_spike_rate=0.5), 1)
    a, b = [base.decide() for _ in range(300)], [spiky.decide() for _ in range(300)]
    assert [c.error for c in a] == [c.error for c in b] and any(c.error for c in a)
    spikes = [c for c in b if c.spike]
    assert 100 < len(spikes) < 200 and all(c.delay_s == 2.0 for c in spikes)
    assert not any(c.spike or c.delay_s for c in a)
    with pytest.raises(ConfigurationError, match="bad_record_rate"):
        Faults(bad_record_rate=1.5)
    with pytest.raises(ConfigurationError, match="latency_spike_ms"):
        Faults(latency_spike_ms=-1)


@pytest.fixture(scope="module")
def bsim():
    with serve(tiny_config(seed=6, rate_limit_calls=0)) as sim:
        yield sim


def test_bad_records_over_http_are_counted_and_the_same_every_time(bsim):
    bsim.set_faults(bad_record_rate=0.3, latency_spike_rate=1.0, latency_spike_ms=1)
    bsim.reset_stats()
    try:
        with httpx.Client(base_url=bsim.api_url, headers=SIM_HEADERS, timeout=30) as client:
            first = client.get("/members", params={"limit": 100}).json()["values"]
            again = client.get("/members", params={"limit": 100}).json()["values"]
            by_id = client.get(f"/members/{first[0]['id']}") if "id" in first[0] else None
    finally:
        bsim.set_faults(bad_record_rate=0.0, latency_spike_rate=0.0)
    assert first == again
    stats = bsim.stats()
    served = sum(stats["bad_records"].values())
    distinct = stats["bad_record_ids"]
    assert served >= 2 * len(distinct) > 20 and all(e == "members" for e, _, _ in distinct)
    assert sum(1 for r in first if "id" not in r) == sum(1 for _, _, k in distinct if k == "no_id")
    assert stats["faults"]["latency_spike"] == 2 + (by_id is not None)


def test_amend_deletes_a_member_and_moves_modified(bsim):
    member = bsim.truth()["members"].filter(~bsim.truth()["members"]["deleted"]).row(0, named=True)
    now = bsim.dataset.now_ms
    with httpx.Client(base_url=bsim.url, timeout=30) as admin, \
            httpx.Client(base_url=bsim.api_url, headers=SIM_HEADERS, timeout=30) as client:
        answer = admin.post("/_sim/amend", params={"entity": "members", "id": member["id"], "deleted": "true"})
        assert answer.status_code == 200 and answer.json() == {"id": member["id"], "deleted": True, "modified": now}
        served = client.get(f"/members/{member['id']}").json()
        assert served["deleted"] is True and served["modified"] == now
        newest = client.get("/members", params={"limit": 1}).json()["values"][0]  # newest first
        assert newest["id"] == member["id"]
        late = admin.post("/_sim/amend", params={"entity": "members", "id": member["id"], "modified_ms": now - 3_600_000})
        assert late.json()["modified"] == now - 3_600_000 and late.json()["deleted"] is True
        assert admin.post("/_sim/amend", params={"id": "0" * 24}).status_code == 404
        assert admin.post("/_sim/amend", params={"entity": "transactions", "id": member["id"]}).status_code == 400
        assert admin.post("/_sim/amend", params={"id": member["id"], "deleted": "maybe"}).status_code == 400
    row = bsim.truth()["members"].filter(bsim.truth()["members"]["id"] == member["id"]).row(0, named=True)
    assert row["deleted"] is True and row["modified"] == now - 3_600_000
    assert bsim.dataset.now_ms == now  # amending never moves the clock
    assert bsim.amend("members", member["id"], deleted=False)["deleted"] is False
    with pytest.raises(ConfigurationError, match="no members record"):
        bsim.amend("members", "f" * 24)
