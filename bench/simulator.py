"""How fast the simulator serves pages over loopback.

Starts a simulator in a child process (rate limit off), then reads every page of transactions
(all 7-day windows back to the start of history), members and products with an httpx client that
discards bodies, and prints one JSON line last (CONTRACTS.md §6)::

    python bench/simulator.py [--scale seed] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from blaze_workbook.blaze.simulator import SimulatorConfig, start_background
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY

HEADERS = {"partner_key": DEMO_PARTNER_KEY, "x-api-key": DEMO_PARTNER_KEY, "Authorization": DEMO_DEVELOPER_KEY}
PAGE = 100
#: consecutive empty 7-day windows that mean "before the start of history"
EMPTY_WINDOWS_TO_STOP = 8
_TOTAL = re.compile(rb'"total":(\d+)\}\s*$')


@dataclass
class Tally:
    bytes: int = 0
    pages: int = 0
    records: int = 0


Task = tuple[str, dict[str, object]]


def fetch(client: httpx.Client, task: Task) -> tuple[int, int]:
    """GET one page, discard its body; returns (bytes read, the envelope's ``total``)."""
    path, params = task
    tail, nbytes = b"", 0
    with client.stream("GET", path, params=params) as r:
        r.raise_for_status()
        for chunk in r.iter_raw():
            nbytes += len(chunk)
            tail = tail[-64:] + chunk[-64:]
    match = _TOTAL.search(tail)
    if not match:
        raise RuntimeError(f"no total at the end of {path} {params}")
    return nbytes, int(match.group(1))


class Reader:
    """Reads pages on ``workers`` connections so the server renders one page while we read another."""

    def __init__(self, client: httpx.Client, workers: int) -> None:
        self.client = client
        self.pool = ThreadPoolExecutor(workers)
        self.tally = Tally()

    def pages(self, tasks: list[Task]) -> list[int]:
        """Fetch ``tasks`` concurrently; returns each page's total."""
        totals = []
        for nbytes, total in self.pool.map(lambda t: fetch(self.client, t), tasks):
            self.tally.bytes += nbytes
            self.tally.pages += 1
            totals.append(total)
        return totals

    def listings(self, firsts: list[Task]) -> list[int]:
        """Every page of several listings, given their first-page tasks; returns their totals."""
        totals = self.pages([(p, {**q, "skip": 0, "limit": PAGE}) for p, q in firsts])
        rest = [(p, {**q, "skip": skip, "limit": PAGE})
                for (p, q), total in zip(firsts, totals, strict=True) for skip in range(PAGE, total, PAGE)]
        self.pages(rest)
        self.tally.records += sum(totals)
        return totals


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``); 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mdy(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def read_transactions(reader: Reader, today: date) -> int:
    """All 7-day windows from ``today`` backwards until history runs out (batches of windows)."""
    totals: list[int] = []
    end = today
    while len(totals) < EMPTY_WINDOWS_TO_STOP or any(totals[-EMPTY_WINDOWS_TO_STOP:]):
        batch = []
        for _ in range(EMPTY_WINDOWS_TO_STOP):
            start = end - timedelta(days=6)
            batch.append(("transactions", {"startDate": _mdy(start), "endDate": _mdy(end)}))
            end = start - timedelta(days=1)
        totals += reader.listings(batch)
    return sum(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="concurrent connections")
    args = parser.parse_args()

    started = time.perf_counter()
    config = SimulatorConfig(scale=args.scale, seed=args.seed, rate_limit_calls=0,
                             partner_key=DEMO_PARTNER_KEY, developer_key=DEMO_DEVELOPER_KEY)
    sim = start_background(config, ready_timeout=900)
    startup = time.perf_counter() - started
    counts: dict[str, int] = {}
    try:
        with httpx.Client(base_url=sim.api_url, headers=HEADERS, timeout=120,
                          limits=httpx.Limits(max_connections=args.workers)) as client:
            now_ms = client.get(sim.url + "/_sim/stats").json()["now_ms"]
            tz = ZoneInfo(client.get("store").json()["shop"]["timeZone"])
            today = datetime.fromtimestamp(now_ms / 1000, tz).date()
            reader = Reader(client, args.workers)
            server0, client0 = cpu_seconds(sim.pid), time.process_time()
            t0 = time.perf_counter()
            counts["transactions"] = read_transactions(reader, today)
            counts["members"], counts["products"] = reader.listings([("members", {}), ("products", {})])
            seconds = time.perf_counter() - t0
            server_cpu, client_cpu = cpu_seconds(sim.pid) - server0, time.process_time() - client0
            reader.pool.shutdown()
            tally = reader.tally
    finally:
        sim.stop()
    rss_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                 resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    result = {
        "bench": "simulator",
        "scale": args.scale,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(rss_kb / 1024, 1),
        "records_per_s": round(tally.records / seconds, 1),
        "ratios": {},
        "details": {
            "mb_per_s": round(tally.bytes / seconds / 1e6, 1),
            "pages_per_s": round(tally.pages / seconds, 1),
            "bytes": tally.bytes,
            "pages": tally.pages,
            "calls": tally.pages,
            "workers": args.workers,
            # CPU spent by each side: throughput per server CPU second does not depend on how
            # busy the machine is, wall-clock figures do
            "server_cpu_s": round(server_cpu, 2),
            "client_cpu_s": round(client_cpu, 2),
            "mb_per_server_cpu_s": round(tally.bytes / max(server_cpu, 1e-9) / 1e6, 1),
            "records": counts,
            "startup_seconds": round(startup, 2),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
