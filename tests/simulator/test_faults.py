"""Fault decisions (unit) and each fault as a client sees it (over 127.0.0.1)."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest
from _fixtures_sim import SIM_HEADERS, tiny_config

from blaze_workbook.blaze.simulator import serve
from blaze_workbook.blaze.simulator.faults import EXTRA_FIELD, FaultInjector, Faults
from blaze_workbook.errors import ConfigurationError


def _decisions(faults: Faults, n: int, seed: int = 0):
    injector = FaultInjector(faults, seed)
    return [injector.decide() for _ in range(n)]


def test_no_faults_by_default():
    for cf in _decisions(Faults(), 200):
        assert not (cf.burst_429 or cf.error or cf.hang_s or cf.truncate or cf.invalid_json)
        assert cf.delay_s == 0


def test_same_seed_same_faults_and_independent_switches():
    faults = Faults(error_rate=0.3, truncate_rate=0.2)
    assert _decisions(faults, 100) == _decisions(faults, 100)
    assert _decisions(faults, 100, seed=1) != _decisions(faults, 100)
    # switching another fault on does not reshuffle the errors
    with_hangs = _decisions(Faults(error_rate=0.3, truncate_rate=0.2, hang_rate=0.5), 100)
    assert [c.error for c in with_hangs] == [c.error for c in _decisions(faults, 100)]


def test_rates_are_roughly_respected():
    decisions = _decisions(Faults(error_rate=0.25, invalid_json_rate=0.1), 4000)
    errors = Counter(c.error[0] for c in decisions if c.error)
    assert 0.2 < sum(errors.values()) / 4000 < 0.3
    assert set(errors) == {500, 502, 503}
    assert 0.07 < sum(c.invalid_json for c in decisions) / 4000 < 0.13


def test_burst_cycle():
    decisions = _decisions(Faults(burst_429_every=3, burst_429_length=2, burst_retry_after=False), 10)
    assert [c.burst_429 for c in decisions] == [False, False, False, True, True] * 2
    assert all(not c.retry_after for c in decisions if c.burst_429)


def test_latency_with_jitter():
    delays = [c.delay_s for c in _decisions(Faults(latency_ms=100, latency_jitter_ms=50), 500)]
    assert min(delays) >= 0.1 and max(delays) <= 0.15 and len(set(delays)) > 100


def test_cut_point_is_strictly_inside():
    for cf in _decisions(Faults(truncate_rate=1), 100):
        assert cf.truncate
        for length in (2, 3, 1000):
            assert 1 <= cf.cut_at(length) < length


def test_drift_kinds_on_members():
    injector = FaultInjector(Faults(drift_rate=1.0), seed=3)
    original = [{"id": str(i), "status": "Active", "primaryPhone": "(555) 010-0199", "email": "a@b.c"}
                for i in range(400)]
    drifted, counts = injector.drift("members", original)
    assert sum(counts.values()) == 400
    assert set(counts) == {"extra_field", "unknown_enum", "int_for_string", "missing_field"}
    assert original[0] == {"id": "0", "status": "Active", "primaryPhone": "(555) 010-0199", "email": "a@b.c"}
    seen = Counter()
    for rec in drifted:
        seen["extra_field"] += EXTRA_FIELD in rec
        seen["unknown_enum"] += rec["status"] == "Archived"
        seen["int_for_string"] += rec["primaryPhone"] == 5550100199
        seen["missing_field"] += "email" not in rec
    assert seen == counts


def test_drift_falls_back_to_an_extra_field():
    injector = FaultInjector(Faults(drift_rate=1.0))
    drifted, counts = injector.drift("terminals", [{"id": "1"}] * 50)
    assert counts == {"extra_field": 50}
    assert all(EXTRA_FIELD in r for r in drifted)


def test_drift_rate_zero_is_untouched():
    records = [{"id": "1"}]
    out, counts = FaultInjector(Faults()).drift("members", records)
    assert out == records and not counts


def test_updated_validates_names_and_values():
    faults = Faults().updated({"error_rate": "0.5", "burst_retry_after": "false", "burst_429_every": 4.0})
    assert faults.error_rate == 0.5 and faults.burst_retry_after is False and faults.burst_429_every == 4
    with pytest.raises(ConfigurationError, match="valid: latency_ms"):
        Faults().updated({"eror_rate": 0.1})
    with pytest.raises(ConfigurationError):
        Faults().updated({"error_rate": 2})
    with pytest.raises(ConfigurationError):
        Faults().updated({"burst_429_every": 1.5})
    with pytest.raises(ConfigurationError):
        Faults(hang_rate=-0.1)


# -- as the client sees them -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def faulty():
    """One tiny simulator for this module; each test sets the faults it needs."""
    with serve(tiny_config(seed=5, rate_limit_calls=0)) as running:
        yield running


@pytest.fixture()
def fsim(faulty):
    faulty.set_faults(**Faults().as_dict())
    faulty.reset_stats()
    yield faulty
    faulty.set_faults(**Faults().as_dict())


def _client(sim, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS, timeout=timeout)


def test_server_errors(fsim):
    fsim.set_faults(error_rate=1.0)
    with _client(fsim) as client:
        responses = [client.get("employees") for _ in range(12)]
    assert {r.status_code for r in responses} == {500, 502, 503}
    for r in responses:
        assert r.json()["status"] == r.status_code and r.json()["error"]
    assert sum(v for k, v in fsim.stats()["faults"].items() if k.startswith("error_")) == 12
    assert httpx.get(fsim.url + "/_sim/stats").status_code == 200  # admin routes have no faults


@pytest.mark.parametrize("retry_after", [True, False])
def test_429_bursts(fsim, retry_after):
    fsim.set_faults(burst_429_every=2, burst_429_length=3, burst_retry_after=retry_after)
    with _client(fsim) as client:
        responses = [client.get("employees") for _ in range(10)]
    assert [r.status_code for r in responses] == [200, 200, 429, 429, 429] * 2
    for r in responses[2:5]:
        assert r.json()["error"] == "Too Many Requests"
        assert ("Retry-After" in r.headers) is retry_after
        if retry_after:
            assert r.headers["Retry-After"] == "1"
    assert fsim.stats()["sent_429"] == 6


def test_hang_makes_the_client_time_out(fsim):
    fsim.set_faults(hang_rate=1.0, hang_seconds=5)
    started = time.monotonic()
    with _client(fsim, timeout=0.4) as client, pytest.raises(httpx.TimeoutException):
        client.get("employees")
    assert time.monotonic() - started < 3


def test_hang_then_answer_or_cut(fsim):
    fsim.set_faults(hang_rate=1.0, hang_seconds=0.05)
    outcomes = []
    with _client(fsim) as client:
        for _ in range(12):
            try:
                outcomes.append(client.get("employees").status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("cut")
    assert set(outcomes) == {200, "cut"}
    assert fsim.stats()["faults"]["hang"] == 12


def test_truncated_body(fsim):
    fsim.set_faults(truncate_rate=1.0)
    with _client(fsim) as client:
        with client.stream("GET", "members") as r:
            assert r.status_code == 200
            expected = int(r.headers["content-length"])
            got = 0
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in r.iter_raw():
                    got += len(chunk)
        assert 0 < got < expected
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("members")
    assert fsim.stats()["faults"]["truncated"] == 2


def test_invalid_json(fsim):
    fsim.set_faults(invalid_json_rate=1.0)
    with _client(fsim) as client:
        r = client.get("members")
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_latency(fsim):
    fsim.set_faults(latency_ms=150, latency_jitter_ms=50)
    with _client(fsim) as client:
        client.get("employees")
        started = time.monotonic()
        client.get("employees")
        assert 0.15 <= time.monotonic() - started < 1.5


def test_drift_is_counted_and_visible(fsim):
    fsim.set_faults(drift_rate=0.5)
    with _client(fsim) as client:
        records = [m for skip in (0, 100, 200) for m in client.get("members", params={"skip": skip}).json()["values"]]
    drift = fsim.stats()["drift"]
    assert all(drift[k] > 0 for k in ("extra_field", "unknown_enum", "int_for_string", "missing_field"))
    assert sum(EXTRA_FIELD in m for m in records) == drift["extra_field"]
    assert sum(m.get("status") == "Archived" for m in records) >= drift["unknown_enum"]
    assert sum(isinstance(m.get("primaryPhone"), int) for m in records) == drift["int_for_string"]
    assert sum("email" not in m for m in records) == drift["missing_field"]


def test_records_move_between_pages_while_listing(fsim):
    with _client(fsim) as client:
        def listing() -> list[str]:
            ids: list[str] = []
            for skip in range(0, 300, 25):
                ids += [m["id"] for m in client.get("members", params={"skip": skip, "limit": 25}).json()["values"]]
            return ids

        clean = listing()
        fsim.set_faults(move_rate=1.0)
        moved = listing()
    moves = fsim.stats()["moves"]
    assert moves["moved"] + moves["inserted"] == 11  # every page after the first
    assert moved != clean
    # a record bumped to "now" jumps to the front (modified descending): a client paging by
    # offset sees some records twice and misses others
    assert len(set(moved)) < len(moved) or set(moved) != set(clean)


def test_faults_change_at_run_time_over_http(fsim):
    r = httpx.post(fsim.url + "/_sim/faults", json={"error_rate": 1.0})
    assert r.status_code == 200 and r.json()["error_rate"] == 1.0
    with _client(fsim) as client:
        assert client.get("employees").status_code >= 500
    bad = httpx.post(fsim.url + "/_sim/faults", json={"error_rat": 1.0})
    assert bad.status_code == 400 and "valid:" in bad.json()["message"]
    assert httpx.post(fsim.url + "/_sim/faults", content=b"[1").status_code == 400
    httpx.post(fsim.url + "/_sim/faults", json={"error_rate": 0})
    assert httpx.get(fsim.url + "/_sim/faults").json()["error_rate"] == 0


def test_same_seed_same_faults_over_http():
    faults = Faults(error_rate=0.3, drift_rate=0.3, invalid_json_rate=0.2)
    runs = []
    for _ in range(2):
        with serve(tiny_config(seed=11, faults=faults)) as sim, _client(sim) as client:
            runs.append([(r.status_code, r.content) for r in
                         (client.get("members", params={"skip": s, "limit": 10}) for s in range(0, 200, 10))])
    assert runs[0] == runs[1]
    assert len({status for status, _ in runs[0]}) > 1
