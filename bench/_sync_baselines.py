"""What ``bench/sync.py`` measures the sync against, each on the same simulator and the same bytes.

- :func:`naive`: the client a hurried analyst writes — one ``httpx.Client``, sequential
  requests, ``json.loads`` and ``pandas.json_normalize`` per page — over the first 7-day
  windows of transactions until the slice holds ``records`` (whole windows, so every baseline
  reads exactly the same records).
- :func:`dlt_rest_api`: dlt's ``rest_api`` source, the tool a user would pick instead, on the
  same windows: the partner-key headers, an ``offset`` paginator on ``skip``/``limit`` with the
  envelope's ``total``, records under ``values``, and the parquet loader into DuckDB. Its
  defaults otherwise (sequential extraction, full nesting, one normalize worker); its working
  directories live in a temporary folder. The rows it loaded are counted against the slice.
- :func:`serving_rate`: the simulator's own speed — 2 connections reading transaction pages and
  discarding them — so the sync's MB/s can be read against what the server can send at all on
  this machine while it also needs a core.
- :func:`process_cpu_seconds`: user + system CPU of another process (the simulator), from
  ``/proc``, so the report can say who used the 2 cores.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec

#: the API's page cap
PAGE = 100


def mmddyyyy(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def windows_from(since: date, end: date) -> Iterator[tuple[date, date]]:
    """7-day windows (the most ``/transactions`` accepts) from ``since`` to ``end``, in order."""
    day = since
    while day <= end:
        last = min(day + timedelta(days=6), end)
        yield day, last
        day = last + timedelta(days=1)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (Linux ``/proc``); 0.0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def naive(api_url: str, headers: dict[str, str], since: date, end: date, records: int) -> dict[str, Any]:
    """Sequential fetch + ``json.loads`` + ``pandas.json_normalize`` over whole windows until
    ``records`` transactions are read; returns the rate and the windows (for :func:`dlt_rest_api`)."""
    import pandas as pd

    got = nbytes = calls = 0
    used: list[tuple[date, date]] = []
    start = time.perf_counter()
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
        for lo, hi in windows_from(since, end):
            if got >= records:
                break
            used.append((lo, hi))
            skip = 0
            while True:
                r = client.get("transactions", params={"startDate": mmddyyyy(lo), "endDate": mmddyyyy(hi), "skip": skip, "limit": PAGE})
                r.raise_for_status()
                calls += 1
                nbytes += len(r.content)
                page = json.loads(r.text)
                values = page.get("values") or []
                if values:
                    pd.json_normalize(values)
                got += len(values)
                skip += len(values)
                if not values or skip >= page.get("total", 0):
                    break
    seconds = time.perf_counter() - start
    return {"records": got, "calls": calls, "bytes": nbytes, "seconds": round(seconds, 2),
            "records_per_s": round(got / seconds, 1) if seconds else 0.0,
            "mb_per_s": round(nbytes / 1e6 / seconds, 2) if seconds else 0.0,
            "windows": [(lo.isoformat(), hi.isoformat()) for lo, hi in used]}


def dlt_rest_api(api_url: str, headers: dict[str, str], windows: list[tuple[str, str]], expected: int) -> dict[str, Any]:
    """dlt ``rest_api`` (offset paginator) + parquet loader into DuckDB over ``windows``."""
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
        # everything dlt writes (pipelines, global dir, config lookup) stays in the temp folder
        saved = {k: os.environ.get(k) for k in ("DLT_DATA_DIR", "DLT_PROJECT_DIR", "RUNTIME__DLTHUB_TELEMETRY")}
        os.environ.update({"DLT_DATA_DIR": str(Path(tmp) / "data"), "DLT_PROJECT_DIR": tmp, "RUNTIME__DLTHUB_TELEMETRY": "false"})
        try:
            import dlt
            from dlt.sources.rest_api import rest_api_source

            @dlt.resource(selected=False)
            def windows_param() -> Iterator[list[dict[str, str]]]:
                # one page of parent items, as rest_api's dependent resources expect
                yield [{"start": mmddyyyy(date.fromisoformat(lo)), "end": mmddyyyy(date.fromisoformat(hi))} for lo, hi in windows]

            source = rest_api_source({
                "client": {"base_url": api_url.rstrip("/") + "/", "headers": headers},
                "resources": [
                    windows_param,
                    {
                        "name": "transactions",
                        "endpoint": {
                            "path": "transactions",
                            "params": {
                                "startDate": "{resources.windows_param.start}",
                                "endDate": "{resources.windows_param.end}",
                            },
                            "data_selector": "values",
                            "paginator": {"type": "offset", "limit": PAGE, "offset_param": "skip",
                                          "limit_param": "limit", "total_path": "total"},
                        },
                    },
                ],
            })
            pipeline = dlt.pipeline(pipeline_name="bench_sync", pipelines_dir=str(Path(tmp) / "pipelines"),
                                    destination=dlt.destinations.duckdb(str(Path(tmp) / "dlt.duckdb")),
                                    dataset_name="blaze")
            start = time.perf_counter()
            pipeline.run(source, loader_file_format="parquet")
            seconds = time.perf_counter() - start
            with pipeline.sql_client() as sql:
                loaded = sql.execute_sql("SELECT count(*) FROM transactions")[0][0]
                tables = len(sql.execute_sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'blaze'"))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return {"records": int(loaded), "expected": expected, "same_records": int(loaded) == expected,
            "seconds": round(seconds, 2), "records_per_s": round(loaded / seconds, 1) if seconds else 0.0,
            "tables_created": tables, "version": dlt.__version__}


def serving_rate(api_url: str, headers: dict[str, str], since: date, end: date, cap_bytes: int) -> dict[str, Any]:
    """Transaction pages read by 2 connections and discarded, window by window from ``since``,
    until ``cap_bytes`` or the end of history: the simulator's MB/s on this machine."""
    todo = iter(windows_from(since, end))
    lock = threading.Lock()
    tally = {"bytes": 0, "pages": 0}

    def worker() -> None:
        with httpx.Client(base_url=api_url, headers=headers, timeout=120) as client:
            while True:
                with lock:
                    window = next(todo, None)
                    if window is None or tally["bytes"] >= cap_bytes:
                        return
                lo, hi = window
                skip = 0
                while True:
                    r = client.get("transactions", params={"startDate": mmddyyyy(lo), "endDate": mmddyyyy(hi), "skip": skip, "limit": PAGE})
                    r.raise_for_status()
                    count, total = _count_total(r.content)
                    with lock:
                        tally["bytes"] += len(r.content)
                        tally["pages"] += 1
                    skip += count
                    if not count or skip >= total:
                        break

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    return {"bytes": tally["bytes"], "pages": tally["pages"], "seconds": round(seconds, 2),
            "mb_per_s": round(tally["bytes"] / 1e6 / seconds, 2) if seconds else 0.0}


class _Envelope(msgspec.Struct):
    values: list[msgspec.Raw]
    total: int = 0


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _count_total(body: bytes) -> tuple[int, int]:
    """Records and ``total`` of a page without parsing its records (msgspec slices them)."""
    env = _ENVELOPE.decode(body)
    return len(env.values), env.total


__all__ = ["dlt_rest_api", "mmddyyyy", "naive", "process_cpu_seconds", "serving_rate", "windows_from"]
