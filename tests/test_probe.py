"""The endpoint probe against the simulator: statuses, totals against the truth, the answers."""

from __future__ import annotations

import json
import logging

import httpx
import polars as pl
import pytest

from blaze_workbook import probe
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.errors import AuthError

TZ = "America/Los_Angeles"


def _settings(sim, partner: str = DEMO_PARTNER_KEY) -> BlazeSettings:
    return BlazeSettings(sim.url, partner, DEMO_DEVELOPER_KEY)


@pytest.fixture(scope="module")
def probed(sim) -> tuple[probe.ProbeResult, int]:
    """One probe of the session simulator, and how many calls the simulator counted."""
    settings = _settings(sim)
    before = sim.stats()["calls"]
    with probe.probe_client(settings) as client:
        result = probe.run_probe(client, settings, probe_limit=100, timezone="UTC")
    return result, sim.stats()["calls"] - before


def _truth_totals(sim) -> dict[str, int]:
    truth = sim.truth()
    now_day = pl.select(pl.from_epoch(pl.lit(sim.stats()["now_ms"]), "ms").dt.replace_time_zone("UTC")
                        .dt.convert_time_zone(TZ).dt.date()).item()
    local = pl.from_epoch(pl.col("processedTime"), "ms").dt.replace_time_zone("UTC").dt.convert_time_zone(TZ).dt.date()
    week = truth["transactions"].filter(local.is_between(now_day - pl.duration(days=6), now_day))
    return {
        "members": truth["members"].height,
        "transactions": week.height,
        "products": truth["products"].height,
        "products/modified": truth["products"].height,
        "vendors": truth["vendors"].height,
        "store/inventory/categories": truth["categories"].filter(~pl.col("deleted")).height,
        "store/inventory/brands": truth["brands"].height,
        "employees": truth["employees"].height,
        "store/terminals": truth["terminals"].height,
    }


def test_every_endpoint_answers_with_the_true_totals(sim, probed):
    result, _ = probed
    calls = {c.label: c for c in result.endpoint_calls}
    assert set(calls) == {label for label, _, _ in probe.ENDPOINTS}
    assert all(c.status == 200 for c in calls.values()), result.frame()
    assert result.endpoints_ok == len(probe.ENDPOINTS) == 12
    for label, total in _truth_totals(sim).items():
        assert calls[label].total == total, label
    member = result.call("members")
    assert member is not None and member.records == 100
    assert all(c.latency_ms is not None and c.latency_ms > 0 for c in result.calls)


def test_loyalty_comes_from_the_members(sim, probed):
    result, _ = probed
    truth = sim.truth()
    first = json.loads(result.bodies["members"])["values"][0]
    points = json.loads(result.bodies["loyalty/points"])
    assert points["memberId"] == first["id"]
    assert str(points["loyaltyPoints"]) == str(truth["members"].filter(pl.col("id") == first["id"])["loyaltyPoints"].item())
    activity = result.call("loyalty/activity")
    assert activity.total == truth["loyalty_activity"].filter(pl.col("memberId") == first["id"]).height
    answer = result.answers["loyalty"].answer
    assert "Member.loyaltyPoints is on every member (100/100" in answer
    assert "no per-member call is needed" in answer


def test_the_rules_and_formats(probed):
    result, calls_counted = probed
    a = result.answers
    assert a["header"].answer.startswith("Both names are accepted")
    assert "x-api-key alone -> 200; partner_key alone -> 200" in a["header"].evidence
    assert a["seven_day_rule"].answer.startswith('Yes: an 8-day range is refused with 400 "Date range cannot exceed 7 days"')
    assert a["page_cap"].answer.startswith("Yes: limit=500 returned 100 records (envelope limit 100, total 300)")
    assert "transactions MM/dd/yyyy: accepted; members epoch ms: accepted" in a["date_formats"].answer
    assert "/products takes both formats" in a["date_formats"].answer
    assert a["lookups"].answer.startswith("Yes: vendors: 8")
    assert a["staff"].answer.startswith("Yes: /employees lists 6 people")
    # the store names its zone, so the parameter is not used
    assert (result.timezone, result.timezone_source) == (TZ, "store")
    # every request counted, the header test's included; the probe stays small
    assert result.calls_used == calls_counted == len(result.calls) == 21


def test_frames_and_json(probed):
    result, _ = probed
    frame = result.frame()
    assert frame.height == len(result.calls)
    assert frame.filter(pl.col("purpose") == "7-day rule")["status"].to_list() == [400]
    assert frame["ok"].all()
    assert result.answers_frame().height == len(result.answers) == 8
    data = json.loads(json.dumps(result.as_dict()))
    assert data["endpoints_ok"] == 12 and data["calls_used"] == 21
    assert "bodies" not in data


def test_a_wrong_key_is_reported_cleanly_and_never_shown(sim, caplog):
    wrong = "pk-WRONG-9d1e4f7a2b"
    settings = _settings(sim, partner=wrong)
    caplog.set_level(logging.DEBUG)
    with probe.probe_client(settings) as client:
        result = probe.run_probe(client, settings)
    store = result.call("store")
    assert store.status == 401 and "refused the keys (401)" in store.error
    assert result.stopped == "the API refused the keys (401)"
    assert result.calls_used == 1  # nothing else is tried with keys the API refused
    assert result.endpoints_ok == 0
    assert all(c.error.startswith("not called") for c in result.calls[1:])
    assert result.answers["header"].answer.startswith("Not tested")
    assert "refused the keys (401): missing or invalid" in store.error
    with pytest.raises(AuthError) as caught:
        result.raise_if_stopped()
    assert "the probe stopped after its first call" in str(caught.value) and wrong not in str(caught.value)
    outputs = [json.dumps(result.as_dict()), str(result.frame().to_dicts()), str(result.answers_frame().to_dicts()),
               repr(result), caplog.text]
    assert not [o for o in outputs if wrong in o]


def test_a_header_the_api_ignores_is_named(sim):
    """An API honouring only ``x-api-key`` (a fake transport for the header test)."""
    seen: list[set[str]] = []

    def only_x_api_key(request: httpx.Request) -> httpx.Response:
        names = {k.lower() for k in request.headers}
        seen.append(names & {"x-api-key", "partner_key"})
        if "x-api-key" in names:
            return httpx.Response(200, json={"values": [], "skip": 0, "limit": 1, "total": 0})
        return httpx.Response(401, json={"error": "Unauthorized", "message": "missing partner key", "status": 401})

    settings = _settings(sim)
    with probe.probe_client(settings) as client:
        result = probe.run_probe(client, settings, probe_limit=5, header_transport=httpx.MockTransport(only_x_api_key))
    assert seen == [{"x-api-key"}, {"partner_key"}]  # one name per request
    assert result.answers["header"].answer.startswith("Only x-api-key is accepted")
    assert "partner_key alone -> 401 (401: missing partner key)" in result.answers["header"].evidence
    assert result.call("members").records == 5


def test_an_unreachable_api_stops_after_one_call():
    settings = BlazeSettings("http://127.0.0.1:1", DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)
    from blaze_workbook.blaze.retry import RetryPolicy

    client = probe.probe_client(settings)
    client.policy = RetryPolicy(max_attempts=1)
    with client:
        result = probe.run_probe(client, settings)
    assert result.stopped == "the API could not be reached"
    assert result.call("store").status == 0
    assert result.timezone_source == "parameter"
    assert result.calls_used == 1


def test_probe_limit_must_be_positive(sim):
    settings = _settings(sim)
    with probe.probe_client(settings) as client, pytest.raises(ValueError, match="probe_limit"):
        probe.run_probe(client, settings, probe_limit=0)
