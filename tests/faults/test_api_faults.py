"""API faults at realistic mixes: each scenario ends with staging equal to the simulator's truth
and the simulator's own statistics showing the documented limit (10,000 calls per 300 s) held.

Each scenario serves a fresh tiny simulator (seed 245, the documented rate limit on) with its
faults, runs a backfill and checks the warehouse cell by cell against the truth; the mix of all
faults then runs an incremental sync after live events and pushes to Postgres staging, checked
too. Seed 245's fault draws put 5xx at calls 16, 23, 45 and 48, cuts at 11 and 22, hangs at 10
and 29 and spikes at 10, 24, 31 and 53 (counting from 1), so even the 1 % faults happen in runs
of 60-100 calls: pages of 10 records make three weeks of the tiny preset cost that many.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from _fixtures_sim import tiny_config
from _sync_run import run_sync
from blaze_workbook.blaze.metrics import TRANSPORT_ERROR
from blaze_workbook.blaze.simulator import Faults, serve
from blaze_workbook.sync import Warehouse

from ._api import check_postgres, check_warehouse, client, days_back, expected, injected, sim_now, within_limit

pytestmark = pytest.mark.timeout(240)

SEED = 245
DAYS = 21
PAGE = 10
LIVE_EVENTS = 40


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: dict[str, Any]
    #: the simulator's fault counters that must be non-zero
    kinds: tuple[str, ...]
    read_timeout: float = 10.0
    #: then live events, an incremental run and the push to Postgres staging
    live: bool = False


SCENARIOS = [
    Scenario("5% 5xx", {"error_rate": 0.05}, ("error_5",)),
    Scenario("429 bursts with Retry-After", {"burst_429_every": 40, "burst_429_length": 2}, ("burst_429",)),
    Scenario("429 bursts without Retry-After", {"burst_429_every": 25, "burst_429_length": 3, "burst_retry_after": False},
             ("burst_429",)),
    Scenario("1% truncated bodies", {"truncate_rate": 0.01}, ("truncated",)),
    # the simulator stalls 3 s; the client gives up after 0.5 s and asks again
    Scenario("1% hung requests", {"hang_rate": 0.01, "hang_seconds": 3.0}, ("hang",), read_timeout=0.5),
    # 5 % of calls 1.5 s late (past the 1 s read timeout: given up and asked again), the rest jittered
    Scenario("latency spikes", {"latency_jitter_ms": 30, "latency_spike_rate": 0.05, "latency_spike_ms": 1500}, ("latency_spike",),
             read_timeout=1.0),
    Scenario("all together", {"error_rate": 0.05, "burst_429_every": 40, "burst_429_length": 2, "truncate_rate": 0.01,
                              "hang_rate": 0.01, "hang_seconds": 3.0, "latency_jitter_ms": 30, "latency_spike_rate": 0.05,
                              "latency_spike_ms": 1500},
             ("error_5", "burst_429", "truncated", "hang", "latency_spike"), read_timeout=1.0, live=True),
]


def settled(sim, calls: int, seconds: float = 5.0) -> dict[str, Any]:
    """The simulator's statistics once it has answered ``calls`` calls (or after ``seconds``).

    It counts a call when its answer goes out: a call the client gave up on (a 1.5-s spike
    against a 1-s read timeout, a hang) is counted up to that long after the run ended."""
    deadline = time.monotonic() + seconds
    stats = sim.stats()
    while stats["calls"] < calls and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = sim.stats()
    return stats


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_runs_under_api_faults_end_equal_to_the_truth(scenario: Scenario, tmp_path, new_staging_db, tally):
    conninfo = new_staging_db().conninfo if scenario.live else None
    with serve(tiny_config(seed=SEED, faults=Faults(**scenario.faults))) as sim, \
            Warehouse.open(tmp_path / "warehouse.duckdb") as wh, \
            client(sim, read_timeout=scenario.read_timeout) as api:
        since, now = days_back(sim, DAYS), sim_now(sim) + timedelta(hours=1)
        common = {"push": scenario.live, "conninfo": conninfo, "page_limit": PAGE}
        runs = [run_sync(api, wh, mode="backfill", since=since, now=now, **common)]
        assert runs[0].ok, str(runs[0])
        check = check_warehouse(expected(sim, since), wh)
        assert check.ok, check
        if scenario.live:
            events = sim.step(LIVE_EVENTS)
            runs.append(run_sync(api, wh, now=now + timedelta(hours=3), **common))
            assert runs[1].ok, str(runs[1])
            assert runs[1].records >= len(events) // 2  # the changes were fetched, not only re-read
            want = expected(sim, since)
            check = check_warehouse(want, wh)
            assert check.ok, check
            in_pg = check_postgres(want, conninfo)
            assert in_pg.ok, in_pg
            check = check + in_pg
        calls = api.metrics.records()
        stats = settled(sim, len(calls))

    # the simulator saw every call the client made, and the limit held in every window
    assert len(calls) == stats["calls"] == sum(r.api.calls for r in runs)
    assert within_limit(stats), {k: stats[k] for k in ("rate_limited", "max_calls_in_window")}
    assert max(r.api.peak_in_window for r in runs) <= runs[0].api.budget == 9_000
    faults = stats["faults"]
    for kind in scenario.kinds:
        assert sum(n for k, n in faults.items() if k.startswith(kind)) >= 1, (kind, faults)
    retried = sum(1 for c in calls if c.attempt > 1)
    if scenario.read_timeout >= 10:  # every fault the client saw was answered by one more attempt, and only those
        assert retried == injected(stats), (retried, faults)
    else:  # what the server did after the client gave up on a hung call was never seen by it
        assert retried >= faults.get("hang", 0) + faults.get("burst_429", 0) and retried >= 1
    if "hang" in scenario.kinds:  # the client's read timeout fired on every hung call
        assert sum(1 for c in calls if c.outcome == TRANSPORT_ERROR) >= faults["hang"]
    if scenario.faults.get("burst_retry_after") is False:
        assert sum(r.api.rate_limited for r in runs) == faults["burst_429"]

    figures = {"scenario": scenario.name, "runs": len(runs), "calls": len(calls), "faults": dict(faults), "injected": injected(stats),
               "records_verified": check.records, "losses": check.losses, "duplicates": check.duplicates,
               "max_calls_in_window": stats["max_calls_in_window"]}
    print("FAULT-FIGURES", json.dumps(figures))
    tally.add(f"api: {scenario.name}", runs=len(runs), faults=injected(stats), check=check)

