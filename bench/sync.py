"""How fast a first sync lands, against what bounds it and what a user would use instead.

Every measurement runs a fresh simulator in a child process (in a thread of ours it would share
our GIL) and ``run_sync(..., mode="backfill", push=False)`` into a warehouse in a temporary
directory, each in its own worker subprocess so its peak RSS is its own. One run measures:

- the backfill at ``--scale`` (default ``seed``): records/s, MB/s, peak RSS, our CPU and the
  simulator's CPU (the machine has 2 cores: the server's work is not free);
- on the same simulator, afterwards: the *decode ceiling* (``orjson.loads`` over the very pages
  stored, one thread), the simulator's *serving rate* (2 connections discarding pages), the
  *naive* pipeline and *dlt* ``rest_api`` on a slice of the first ``--slice`` transactions
  (whole 7-day windows: both read exactly the same records), compared on transactions/s;
- peak RSS of backfills at smaller scales (``--rss-scales``): flat as the data grows; and of
  the same shop's backfill over only its last years (``--rss-years``, default 1): the history
  grows, the shop does not (the presets differ in weekly volume too, hence in page size);
- the latency-bound run (``--latency-scale``, default ``demo``): 200 ms injected before every
  answer, the Blaze rate limit on (10,000 calls / 300 s, our budget 90% of it), wall time
  against ``max(calls x latency / concurrency, rate-limit bound)``.

Prints one JSON line last (CONTRACTS.md §6)::

    python bench/sync.py [--scale seed] [--slice 10000] [--skip-naive] [--skip-dlt]
                         [--skip-latency] [--rss-scales tiny,demo] [--rss-years 1] [--quick]

``--quick`` is the smoke test's: ``tiny`` everywhere, a 200-record slice, latency 50 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sync_baselines import dlt_rest_api, naive, process_cpu_seconds, serving_rate  # noqa: E402

from blaze_workbook.blaze.simulator import SimulatorConfig, start_background  # noqa: E402
from blaze_workbook.blaze.simulator.faults import Faults  # noqa: E402
from blaze_workbook.blaze.simulator.presets import get_preset  # noqa: E402
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings  # noqa: E402
from blaze_workbook.sync import Warehouse, run_sync  # noqa: E402

HEADERS = {"partner_key": DEMO_PARTNER_KEY, "x-api-key": DEMO_PARTNER_KEY, "Authorization": DEMO_DEVELOPER_KEY}
SCALES = ("tiny", "demo", "seed", "real")
#: the Blaze limit the latency run is held to, and our share of it (run_sync's default)
RATE_LIMIT_CALLS, RATE_LIMIT_SECONDS, BUDGET_FRACTION = 10_000, 300.0, 0.9
#: targets of issue 4
TARGETS = {"vs_decode_ceiling": 0.5, "vs_naive": 10.0, "vs_dlt": 5.0, "latency_minimum_over_ours": 0.8, "peak_rss_mb": 1024}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _decode_ceiling(wh: Warehouse) -> tuple[float, int, int]:
    """orjson.loads over every stored page: (seconds, records, bytes); bodies decompressed first."""
    shas = wh.sql("SELECT sha256 FROM raw_pages WHERE records > 0 ORDER BY page_id").get_column("sha256")
    records = nbytes = 0
    seconds = 0.0
    for sha in shas:  # one body at a time: a seed backfill is ~10 GB of JSON
        body = wh.raw_body(sha)
        start = time.perf_counter()
        doc = orjson.loads(body)
        seconds += time.perf_counter() - start
        records += len(doc["values"]) if isinstance(doc, dict) and "values" in doc else 1
        nbytes += len(body)
    return seconds, records, nbytes


def _rate(n: float, seconds: float) -> float:
    return round(n / seconds, 1) if seconds else 0.0


# --------------------------------------------------------------------------- one worker


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One simulator, one backfill; then (``--baselines``) the ceilings and the slice baselines."""
    latency_ms = args.latency_ms
    config = SimulatorConfig(scale=args.scale, seed=args.seed, partner_key=DEMO_PARTNER_KEY, developer_key=DEMO_DEVELOPER_KEY,
                             rate_limit_calls=RATE_LIMIT_CALLS if latency_ms else 0, rate_limit_seconds=RATE_LIMIT_SECONDS,
                             faults=Faults(latency_ms=latency_ms))
    out: dict[str, Any] = {"scale": args.scale, "years": args.years or get_preset(args.scale).years}
    with start_background(config, ready_timeout=900) as sim, tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        stats = sim.stats()
        tz = ZoneInfo(httpx.get(sim.api_url + "/store", headers=HEADERS, timeout=60).json()["shop"]["timeZone"])
        now = datetime.fromtimestamp(stats["now_ms"] / 1000, UTC) + timedelta(days=1)
        # a shop-local day before the oldest record of the preset's history (or ``--years`` back)
        days = round(args.years * 365.25) if args.years else round(get_preset(args.scale).years * 365.25) + 60
        since = (now - timedelta(days=days)).astimezone(tz).date()
        end = now.astimezone(tz).date()
        settings = BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)
        before, sim_cpu, cpu = sim.stats(), process_cpu_seconds(sim.pid), _cpu_s()
        with Warehouse.open(Path(tmp) / "warehouse.duckdb") as wh:
            start = time.perf_counter()
            summary = run_sync(settings, wh, mode="backfill", since=since, now=now, push=False,
                               concurrency=args.concurrency, budget_fraction=BUDGET_FRACTION,
                               rate_limit=(RATE_LIMIT_CALLS, RATE_LIMIT_SECONDS))
            seconds = time.perf_counter() - start
            out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
            after = sim.stats()
            out["sim_cpu_s"] = round(process_cpu_seconds(sim.pid) - sim_cpu, 1)
            out["client_cpu_s"] = round(_cpu_s() - cpu, 1)
            tx = next((e for e in summary.entities if e.entity == "transactions"), None)
            calls, nbytes = after["accepted"] - before["accepted"], after["bytes"] - before["bytes"]
            out.update({
                "seconds": round(seconds, 2), "records": int(summary.records), "ok": bool(summary.ok),
                "records_per_s": _rate(summary.records, seconds), "calls": calls, "sent_429": after["sent_429"] - before["sent_429"],
                "bytes": nbytes, "mb_per_s": round(nbytes / 1e6 / seconds, 2) if seconds else 0.0,
                "transactions": {"records": tx.records, "seconds": round(tx.seconds, 2), "records_per_s": _rate(tx.records, tx.seconds)}
                if tx else None,
                "rows_stored": wh.row_counts(),
            })
            if latency_ms:
                out["latency"] = _latency(calls, latency_ms, args.concurrency, seconds, after)
            if args.baselines:
                ceiling_s, ceiling_records, ceiling_bytes = _decode_ceiling(wh)
                out["decode_ceiling"] = {"records_per_s": _rate(ceiling_records, ceiling_s), "seconds": round(ceiling_s, 2),
                                         "mb": round(ceiling_bytes / 1e6, 1), "mb_per_s": round(ceiling_bytes / 1e6 / ceiling_s, 1)}
        if args.baselines:
            out["serving"] = serving_rate(sim.api_url, HEADERS, since, end, int(args.serving_mb * 1e6))
            out["naive"] = naive(sim.api_url, HEADERS, since, end, args.slice) if not args.skip_naive else "skipped"
            if not args.skip_dlt:
                # the slice (its windows and records) is the naive run's; without one, read it for dlt
                cut = out["naive"] if isinstance(out["naive"], dict) else naive(sim.api_url, HEADERS, since, end, args.slice)
                out["dlt"] = dlt_rest_api(sim.api_url, HEADERS, cut["windows"], cut["records"])
            else:
                out["dlt"] = "skipped"
            if isinstance(out["naive"], dict):
                out["naive"]["windows"] = len(out["naive"]["windows"])
    return out


def _latency(calls: int, latency_ms: float, concurrency: int, seconds: float, stats: dict[str, Any]) -> dict[str, Any]:
    """The least wall time ``calls`` can take: each waits ``latency_ms`` with at most
    ``concurrency`` in flight, and no more than the budget's calls per window start."""
    budget = int(RATE_LIMIT_CALLS * BUDGET_FRACTION)
    latency_bound = calls * latency_ms / 1000 / concurrency
    rate_bound = (math.ceil(calls / budget) - 1) * RATE_LIMIT_SECONDS if calls else 0.0
    minimum = max(latency_bound, rate_bound)
    return {"latency_ms": latency_ms, "concurrency": concurrency, "calls": calls, "budget_calls": budget,
            "budget_seconds": RATE_LIMIT_SECONDS, "latency_bound_s": round(latency_bound, 2), "rate_limit_bound_s": round(rate_bound, 2),
            "minimum_s": round(minimum, 2), "seconds": round(seconds, 2),
            "minimum_over_ours": round(minimum / seconds, 3) if seconds else 0.0,
            "max_calls_in_window": stats.get("max_calls_in_window")}


# --------------------------------------------------------------------------- the parent


def _run_worker(scale: str, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", "--scale", scale, "--seed", str(args.seed), "--slice", str(args.slice),
           "--concurrency", str(args.concurrency), "--serving-mb", str(args.serving_mb), *extra]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="seed", choices=SCALES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slice", type=int, default=10_000, help="transactions the naive and dlt baselines read")
    parser.add_argument("--concurrency", type=int, default=4, help="run_sync's concurrency")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--rss-scales", default=None, help="comma-separated smaller scales to backfill for peak RSS (default: those below --scale, up to demo)")
    parser.add_argument("--rss-years", default=None, help="comma-separated: backfill --scale's shop over only its last N years, for peak RSS as the history grows (default 1; '' for none)")
    parser.add_argument("--years", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--latency-scale", default="demo", choices=SCALES)
    parser.add_argument("--latency-ms", type=float, default=None, help="injected latency of the latency run (default 200)")
    parser.add_argument("--serving-mb", type=float, default=1000, help="MB the serving-rate reader reads")
    parser.add_argument("--quick", action="store_true", help="tiny everywhere, 200-record slice, 50 ms latency (smoke test)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baselines", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.latency_ms = args.latency_ms or 0.0
        print(json.dumps(worker(args)))
        return
    if args.quick:
        args.scale, args.latency_scale, args.slice, args.serving_mb = "tiny", "tiny", min(args.slice, 200), min(args.serving_mb, 20)
        args.rss_scales = args.rss_scales or ""
        args.rss_years = args.rss_years or ""
        args.latency_ms = args.latency_ms or 50.0
    latency_ms = args.latency_ms or 200.0
    flags = [f for f, on in (("--skip-naive", args.skip_naive), ("--skip-dlt", args.skip_dlt)) if on]
    started = time.perf_counter()
    main_run = _run_worker(args.scale, args, "--baselines", *flags)
    smaller = SCALES[: min(SCALES.index(args.scale), SCALES.index("seed"))]
    rss_scales = [s for s in (args.rss_scales.split(",") if args.rss_scales is not None else smaller[-2:]) if s and s != args.scale]
    by_scale = {s: _run_worker(s, args) for s in rss_scales}
    by_scale[args.scale] = main_run
    years = "1" if args.rss_years is None else args.rss_years
    by_years = [_run_worker(args.scale, args, "--years", y.strip()) for y in years.split(",") if y.strip()] + [main_run]
    latency = None if args.skip_latency else _run_worker(args.latency_scale, args, "--latency-ms", str(latency_ms))["latency"] | {"scale": args.latency_scale}
    print(json.dumps(report(args, main_run, by_scale, latency, time.perf_counter() - started, by_years)))


def _history(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Peak RSS of one shop's backfills over more and more of its history."""
    runs = sorted(runs, key=lambda r: r["bytes"])
    rows = [{"years": r["years"], "peak_rss_mb": r["peak_rss_mb"], "mb_of_json": round(r["bytes"] / 1e6, 1), "records": r["records"],
             "seconds": r["seconds"]} for r in runs]
    grown = len(runs) > 1 and runs[0]["bytes"]
    return {"rss_by_history": rows,
            "rss_growth_history": round(runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"], 2) if grown else None,
            "data_growth_history": round(runs[-1]["bytes"] / runs[0]["bytes"], 1) if grown else None}


def report(args: argparse.Namespace, run: dict[str, Any], by_scale: dict[str, dict[str, Any]], latency: dict[str, Any] | None,
           wall: float, by_years: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The CONTRACTS.md §6 line: ratios are ours / baseline, measured in this run."""
    ceiling = run["decode_ceiling"]
    ours_tx = (run.get("transactions") or {}).get("records_per_s", 0.0)
    ratios: dict[str, float] = {"vs_decode_ceiling": round(run["records_per_s"] / ceiling["records_per_s"], 3) if ceiling["records_per_s"] else 0.0}
    for name in ("naive", "dlt"):
        base = run.get(name)
        if isinstance(base, dict) and base.get("records_per_s"):
            ratios[f"vs_{name}"] = round(ours_tx / base["records_per_s"], 2)
    if latency is not None:
        ratios["latency_minimum_over_ours"] = latency["minimum_over_ours"]
    sizes = sorted(by_scale.values(), key=lambda r: r["bytes"])
    rss = {r["scale"]: {"peak_rss_mb": r["peak_rss_mb"], "mb_of_json": round(r["bytes"] / 1e6, 1), "seconds": r["seconds"],
                        "records_per_s": r["records_per_s"], "mb_per_s": r["mb_per_s"]} for r in sizes}
    serving = run["serving"]
    details = {
        "mb_per_s": run["mb_per_s"], "calls": run["calls"], "bytes": run["bytes"], "records": run["records"],
        "rows_stored": run["rows_stored"], "ok": run["ok"], "transactions": run["transactions"],
        "client_cpu_s": run["client_cpu_s"], "sim_cpu_s": run["sim_cpu_s"],
        "client_mb_per_cpu_s": round(run["bytes"] / 1e6 / run["client_cpu_s"], 1) if run["client_cpu_s"] else 0.0,
        "decode_ceiling_records_per_s": ceiling["records_per_s"], "decode_ceiling_mb_per_s": ceiling["mb_per_s"],
        "decode_ceiling_pages_mb": ceiling["mb"],
        "serving": serving, "mb_per_s_over_serving": round(run["mb_per_s"] / serving["mb_per_s"], 3) if serving["mb_per_s"] else 0.0,
        "naive": run.get("naive"), "dlt": run.get("dlt"),
        "vs_baselines_compares": "transactions/s of our backfill's transactions entity against the baseline's on the slice",
        "slice": args.slice, "latency": latency if latency is not None else "skipped",
        "rss_by_scale": rss,
        "rss_growth": round(sizes[-1]["peak_rss_mb"] / sizes[0]["peak_rss_mb"], 2) if len(sizes) > 1 else None,
        "data_growth": round(sizes[-1]["bytes"] / sizes[0]["bytes"], 1) if len(sizes) > 1 and sizes[0]["bytes"] else None,
        **_history(by_years or [run]),
        "targets": TARGETS, "wall_seconds_all": round(wall, 1),
    }
    return {"bench": "sync", "scale": args.scale, "seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
            "records_per_s": run["records_per_s"], "ratios": ratios, "details": details}


if __name__ == "__main__":
    main()
