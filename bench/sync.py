"""How fast a first sync lands: a full backfill from the simulator into a fresh warehouse.

Starts a simulator in a child process (rate limit off; in a thread of this process it would
share our GIL and slow the sync down), runs
``run_sync(..., mode="backfill", push=False)`` into a warehouse in a temporary directory, and
compares it with the decode ceiling: ``orjson.loads`` over the very pages stored (read back
from ``raw_pages``). Optionally (``--naive``, when pandas is importable) a naive client:
sequential httpx + ``json.loads`` + ``pandas.json_normalize`` over the first 10,000
transactions. dlt is not measured. Prints one JSON line last (CONTRACTS.md §6)::

    python bench/sync.py [--scale seed] [--seed 0] [--naive]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import orjson
import zstandard

from blaze_workbook.blaze.simulator import SimulatorConfig, start_background
from blaze_workbook.blaze.simulator.presets import get_preset
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.sync import Warehouse, run_sync

#: transactions the naive client reads (it is slow: a sample is enough for a rate)
NAIVE_RECORDS = 10_000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _first_day(scale: str, now: datetime, tz: ZoneInfo) -> object:
    """A shop-local day before the oldest record of the preset's history (the backfill's ``since``)."""
    return (now - timedelta(days=round(get_preset(scale).years * 365.25) + 60)).astimezone(tz).date()


def _decode_ceiling(wh: Warehouse) -> tuple[float, int, int]:
    """orjson.loads over every stored page: (seconds, records, bytes); bodies decompressed first."""
    pages = wh.sql(
        "SELECT b.codec, b.body FROM raw_pages p JOIN raw_bodies b USING (sha256) WHERE p.records > 0 ORDER BY p.page_id"
    )
    unzip = zstandard.ZstdDecompressor()
    records = nbytes = 0
    seconds = 0.0
    for codec, blob in pages.iter_rows():  # one body at a time: a demo backfill is ~2 GB of JSON
        body = unzip.decompress(blob) if codec == "zstd" else bytes(blob)
        start = time.perf_counter()
        doc = orjson.loads(body)
        seconds += time.perf_counter() - start
        records += len(doc["values"]) if isinstance(doc, dict) and "values" in doc else 1
        nbytes += len(body)
    return seconds, records, nbytes


def _naive(api_url: str, headers: dict[str, str], since: object, end: object) -> dict[str, float] | str:
    """A sequential httpx + json.loads + pandas.json_normalize client over the first transactions."""
    try:
        import pandas as pd
    except ImportError:
        return "pandas is not importable: vs_naive skipped"
    import httpx

    records = 0
    start = time.perf_counter()
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
        day = since
        while records < NAIVE_RECORDS and day <= end:
            last = min(day + timedelta(days=6), end)
            skip = 0
            while records < NAIVE_RECORDS:
                params = {"startDate": day.strftime("%m/%d/%Y"), "endDate": last.strftime("%m/%d/%Y"), "skip": skip, "limit": 100}
                r = client.get("transactions", params=params)
                r.raise_for_status()
                values = json.loads(r.text).get("values") or []
                if not values:
                    break
                pd.json_normalize(values)
                records += len(values)
                skip += len(values)
            day = last + timedelta(days=1)
    seconds = time.perf_counter() - start
    return {"records": records, "seconds": seconds, "records_per_s": records / seconds if seconds else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive", action="store_true", help="also time a naive client (needs pandas)")
    args = parser.parse_args()

    config = SimulatorConfig(scale=args.scale, seed=args.seed, rate_limit_calls=0,
                             partner_key=DEMO_PARTNER_KEY, developer_key=DEMO_DEVELOPER_KEY)
    headers = {"partner_key": DEMO_PARTNER_KEY, "x-api-key": DEMO_PARTNER_KEY, "Authorization": DEMO_DEVELOPER_KEY}
    with start_background(config, ready_timeout=900) as sim, tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        before = sim.stats()
        tz = ZoneInfo(httpx.get(sim.api_url + "/store", headers=headers, timeout=60).json()["shop"]["timeZone"])
        now = datetime.fromtimestamp(before["now_ms"] / 1000, UTC) + timedelta(days=1)
        since = _first_day(args.scale, now, tz)
        settings = BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)
        before = sim.stats()
        with Warehouse.open(Path(tmp) / "warehouse.duckdb") as wh:
            start = time.perf_counter()
            summary = run_sync(settings, wh, mode="backfill", since=since, now=now, push=False)
            seconds = time.perf_counter() - start
            peak = _peak_rss_mb()
            after = sim.stats()
            ceiling_s, ceiling_records, ceiling_bytes = _decode_ceiling(wh)
            rows = wh.row_counts()
        stats = {k: after[k] - before[k] for k in ("calls", "bytes")}
        naive = _naive(sim.api_url, headers, since, now.astimezone(tz).date()) if args.naive else "not run (pass --naive; needs pandas)"

    fetched = int(summary.records)
    ours = fetched / seconds if seconds else 0.0
    ceiling = ceiling_records / ceiling_s if ceiling_s else 0.0
    ratios: dict[str, float] = {"vs_decode_ceiling": round(ours / ceiling, 4) if ceiling else 0.0}
    if isinstance(naive, dict) and naive["records_per_s"]:
        ratios["vs_naive"] = round(ours / naive["records_per_s"], 3)
    out = {
        "bench": "sync",
        "scale": args.scale,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak, 1),
        "records_per_s": round(ours, 1),
        "ratios": ratios,
        "details": {
            "mb_per_s": round(stats["bytes"] / 1e6 / seconds, 2) if seconds else 0.0,
            "calls": stats["calls"],
            "bytes": stats["bytes"],
            "records": fetched,
            "rows_stored": rows,
            "ok": bool(summary.ok),
            "decode_ceiling_records_per_s": round(ceiling, 1),
            "decode_ceiling_pages_mb": round(ceiling_bytes / 1e6, 1),
            "decode_ceiling_mb_per_s": round(ceiling_bytes / 1e6 / ceiling_s, 1) if ceiling_s else 0.0,
            "naive": naive,
            "dlt": "not measured",
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
