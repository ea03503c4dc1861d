"""The simulator answers as docs/simulator.md says, seen by a real HTTP client over 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from _fixtures_sim import SIM_HEADERS, tiny_config

from blaze_workbook.blaze.simulator import build_app, serve

LA = ZoneInfo("America/Los_Angeles")

LISTS = [
    "members", "transactions", "products", "products/modified", "vendors", "store/terminals",
    "store/inventory/categories", "store/inventory/brands", "employees", "loyalty/activity",
]


def _ids(client: httpx.Client, path: str, key: str = "skip", **params) -> list[str]:
    """Every id of a list, paging by the documented name."""
    out: list[str] = []
    while True:
        page = client.get(path, params={**params, key: len(out)}).json()
        out += [r["id"] for r in page["values"]]
        if not page["values"] or len(out) >= page["total"]:
            return out


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_an_envelope(sim_client, path):
    r = sim_client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"values", "skip", "limit", "total"}
    assert body["skip"] == 0 and isinstance(body["total"], int)
    assert 0 < len(body["values"]) <= 100, path
    assert all("id" in v for v in body["values"])
    if path == "store/inventory/categories":
        assert body["limit"] == body["total"] == len(body["values"])
    else:
        assert body["limit"] == 100


def test_store_is_a_bare_object(sim_client):
    body = sim_client.get("store").json()
    assert {"shop", "contract", "toleranceMap", "companyLogoURL"} <= set(body)
    assert body["shop"]["timeZone"] == "America/Los_Angeles"


@pytest.mark.parametrize("entity", ["members", "transactions", "products"])
def test_single_objects_and_unknown_ids(sim_client, entity):
    first = sim_client.get(entity).json()["values"][0]
    r = sim_client.get(f"{entity}/{first['id']}")
    assert r.status_code == 200
    assert r.json() == first
    missing = sim_client.get(f"{entity}/000000000000000000000000")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404 and missing.json()["error"] == "Not Found"


def test_loyalty_points(sim_client):
    member = sim_client.get("members").json()["values"][0]
    body = sim_client.get("loyalty/points", params={"memberId": member["id"]}).json()
    assert body["memberId"] == member["id"]
    assert body["loyaltyPoints"] == member["loyaltyPoints"]
    assert sim_client.get("loyalty/points").status_code == 400
    assert sim_client.get("loyalty/points", params={"memberId": "nobody"}).status_code == 404


def test_filters(sim_client):
    products = sim_client.get("products", params={"active": "true", "limit": 100}).json()
    assert all(p["active"] for p in products["values"])
    brands = sim_client.get("store/inventory/brands").json()["values"]
    term = brands[0]["name"][1:4].upper()
    found = sim_client.get("store/inventory/brands", params={"term": term}).json()["values"]
    assert found and all(term.lower() in b["name"].lower() for b in found)
    activity = sim_client.get("loyalty/activity").json()["values"]
    member = activity[0]["memberId"]
    mine = sim_client.get("loyalty/activity", params={"memberId": member}).json()["values"]
    assert mine and all(a["memberId"] == member for a in mine)


# -- keys ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"partner_key": "wrong-partner", "Authorization": SIM_HEADERS["Authorization"]},
        {"x-api-key": SIM_HEADERS["x-api-key"], "Authorization": "wrong-developer"},
        {"x-api-key": SIM_HEADERS["x-api-key"]},
        {"Authorization": SIM_HEADERS["Authorization"]},
    ],
)
def test_wrong_or_missing_keys_are_401(sim, headers):
    r = httpx.get(sim.api_url + "/members", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "Unauthorized" and body["status"] == 401 and body["message"]
    for value in headers.values():
        assert value not in r.text


@pytest.mark.parametrize("name", ["partner_key", "x-api-key", "X-API-Key", "PARTNER_KEY"])
def test_either_partner_key_header_works(sim, name):
    headers = {name: SIM_HEADERS["x-api-key"], "Authorization": SIM_HEADERS["Authorization"]}
    assert httpx.get(sim.api_url + "/employees", headers=headers).status_code == 200


# -- transactions dates --------------------------------------------------------------------------
def test_seven_day_rule(sim_client):
    r = sim_client.get("transactions", params={"startDate": "11/01/2026", "endDate": "11/08/2026"})
    assert r.status_code == 400
    assert r.json() == {"error": "Bad Request", "message": "Date range cannot exceed 7 days", "status": 400}
    ok = sim_client.get("transactions", params={"startDate": "11/01/2026", "endDate": "11/07/2026"})
    assert ok.status_code == 200


@pytest.mark.parametrize("params", [{"startDate": "11/01/2026"}, {"endDate": "11/07/2026"}])
def test_one_date_only_is_400(sim_client, params):
    assert sim_client.get("transactions", params=params).status_code == 400


def test_default_is_the_last_seven_local_days(sim, sim_client):
    today = datetime.fromtimestamp(sim.dataset.now_ms / 1000, LA).date()
    start = today - timedelta(days=6)
    explicit = {"startDate": start.strftime("%m/%d/%Y"), "endDate": today.strftime("%m/%d/%Y")}
    default = sim_client.get("transactions").json()
    assert default["total"] > 0
    assert default == sim_client.get("transactions", params=explicit).json()
    for t in default["values"]:
        day = datetime.fromtimestamp(t["processedTime"] / 1000, LA).date()
        assert start <= day <= today
    times = [(t["processedTime"], t["id"]) for t in default["values"]]
    assert times == sorted(times)


# -- paging --------------------------------------------------------------------------------------
def test_page_cap_echoes_the_effective_limit(sim_client):
    body = sim_client.get("members", params={"limit": 500}).json()
    assert body["limit"] == 100 and len(body["values"]) == 100 < body["total"]


@pytest.mark.parametrize(("path", "documented"), [("members", "skip"), ("employees", "start")])
def test_both_paging_names(sim_client, path, documented):
    synonym = "start" if documented == "skip" else "skip"
    a = sim_client.get(path, params={documented: 2, "limit": 3}).json()
    b = sim_client.get(path, params={synonym: 2, "limit": 3}).json()
    assert a == b and a["skip"] == 2 and len(a["values"]) == 3
    assert a["values"][0] == sim_client.get(path, params={"limit": 3}).json()["values"][2]


def test_skip_past_the_end_is_an_empty_page(sim_client):
    total = sim_client.get("members").json()["total"]
    for skip in (total, total + 50):
        body = sim_client.get("members", params={"skip": skip}).json()
        assert body["values"] == [] and body["total"] == total


def test_paging_covers_every_record_once_in_order(sim_client):
    ids = _ids(sim_client, "members")
    assert len(ids) == len(set(ids)) == sim_client.get("members").json()["total"]
    page = sim_client.get("members").json()["values"]
    keys = [(-m["modified"], m["id"]) for m in page]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("path", "params"),
    [("members", {"skip": "abc"}), ("members", {"limit": "-1"}), ("members", {"limit": "0"}),
     ("members", {"startDate": "yesterday"}), ("members", {"startDate": "20", "endDate": "10"}),
     ("transactions", {"startDate": "2026-11-01", "endDate": "2026-11-02"}),
     ("products", {"active": "maybe"}), ("employees", {"start": "-3"}), ("vendors", {"startDate": "1/40/2026"})],
)
def test_malformed_parameters_are_400(sim_client, path, params):
    r = sim_client.get(path, params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Bad Request" and body["status"] == 400 and body["message"]


def test_date_filters(sim_client):
    everyone = sim_client.get("members").json()
    newest = everyone["values"][0]["modified"]
    since = sim_client.get("members", params={"startDate": newest, "endDate": newest}).json()
    assert since["total"] >= 1 and all(m["modified"] == newest for m in since["values"])
    modified = sim_client.get("products/modified", params={"startDate": 0}).json()
    keys = [(p["modified"], p["id"]) for p in modified["values"]]
    assert keys == sorted(keys)
    day = sim_client.get("products", params={"startDate": "01/01/2000", "endDate": "12/31/2099"}).json()
    assert day["total"] == sim_client.get("products").json()["total"]


# -- not found, wrong method, admin --------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/partner/nothing", "/api/v1/partner/members/x/y", "/nothing", "/"])
def test_unknown_paths_are_404_json(sim, path):
    r = httpx.get(sim.url + path, headers=SIM_HEADERS)
    assert r.status_code == 404
    assert r.json()["error"] == "Not Found" and r.json()["status"] == 404


def test_other_methods_are_405(sim):
    r = httpx.post(sim.api_url + "/members", headers=SIM_HEADERS)
    assert r.status_code == 405 and r.json()["status"] == 405


def test_admin_stats_and_truth(sim, sim_client):
    sim_client.get("vendors")
    stats = httpx.get(sim.url + "/_sim/stats").json()
    assert stats["by_endpoint"]["/api/v1/partner/vendors"]["200"] >= 1
    tables = httpx.get(sim.url + "/_sim/truth").json()
    assert "members" in tables and tables["members"]["rows"] > 0
    rows = httpx.get(sim.url + "/_sim/truth", params={"table": "members"}).json()
    assert len(rows) == tables["members"]["rows"]
    assert httpx.get(sim.url + "/_sim/truth", params={"table": "nope"}).status_code == 404


def test_export_truth(sim, tmp_path):
    paths = sim.export_truth(tmp_path)
    assert paths and all(p.exists() and p.suffix == ".parquet" for p in paths)


# -- statistics ----------------------------------------------------------------------------------
def test_stats_count_bytes_and_busiest_window(fake_clock):
    config = tiny_config(rate_limit_calls=0, rate_limit_seconds=300, clock=fake_clock)
    with serve(config) as sim, httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS) as client:
        sizes = []
        for _ in range(5):
            sizes.append(len(client.get("employees").content))
        fake_clock.advance(301)
        for _ in range(3):
            sizes.append(len(client.get("vendors").content))
        client.get("members", headers={"Authorization": "nope"})
        stats = sim.stats()
    assert stats["max_calls_in_window"] == 5
    assert stats["calls_in_current_window"] == 3
    assert stats["by_endpoint"]["/api/v1/partner/employees"] == {"200": 5}
    assert stats["by_status"] == {"200": 8, "401": 1}
    unauthorized = b'{"error":"Unauthorized","message":"missing or invalid partner key or developer key","status":401}'
    assert stats["bytes"] == sum(sizes) + len(unauthorized)


# -- live mode and determinism -------------------------------------------------------------------
def test_live_events_are_visible_after_step():
    with serve(tiny_config(rate_limit_calls=0)) as sim, \
            httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS) as client:
        before = client.get("members", params={"limit": 1}).json()["values"][0]["modified"]
        events = sim.step(40)
        assert len(events) == 40
        checked = 0
        for event in events:
            if event["entity"] in ("members", "transactions", "products"):
                r = client.get(f"{event['entity']}/{event['id']}")
                assert r.status_code == 200, event
                checked += 1
        assert checked
        if any(e["entity"] == "members" for e in events):
            assert client.get("members", params={"limit": 1}).json()["values"][0]["modified"] >= before
        admin = httpx.post(sim.url + "/_sim/step", params={"n": 3}).json()
        assert admin["applied"] == 3
        assert sim.stats()["live_events"] == 43


def test_live_events_per_call():
    with serve(tiny_config(live_events_per_call=2, rate_limit_calls=0)) as sim, \
            httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS) as client:
        for _ in range(3):
            client.get("employees")
        assert sim.stats()["live_events"] == 6


def test_same_seed_same_bytes():
    requests = [("members", {"skip": 100}), ("transactions", {}), ("products", {"limit": 7}),
                ("store", {}), ("store/inventory/categories", {})]
    bodies = []
    for _ in range(2):
        with serve(tiny_config(seed=7)) as sim, \
                httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS) as client:
            bodies.append([client.get(p, params=q).content for p, q in requests])
    assert bodies[0] == bodies[1]


def test_in_process_through_asgi_transport():
    transport = httpx.ASGITransport(app=build_app(tiny_config()))

    async def fetch() -> dict:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim/api/v1/partner",
                                     headers=SIM_HEADERS) as client:
            return (await client.get("employees")).json()

    assert asyncio.run(fetch())["total"] > 0
