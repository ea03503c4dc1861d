"""``bench/sync.py --quick`` runs end to end and prints the contract's JSON (CONTRACTS.md §6).

A smoke test, not a measurement: no timing is asserted. It does check what the bench's figures
rest on — the backfill stored exactly the tiny preset's members and transactions, dlt's
``rest_api`` configuration read the same slice as the naive client (so its rate is a rate over
the same records), and the latency run had a minimum to compare with.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from blaze_workbook.blaze.simulator.presets import get_preset

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sync.py"


def test_quick_run_prints_the_contract_keys():
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--rss-years", "0.5"], capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(record) == {"bench", "scale", "seconds", "peak_rss_mb", "records_per_s", "ratios", "details"}
    assert record["bench"] == "sync" and record["scale"] == "tiny"
    assert record["seconds"] > 0 and record["peak_rss_mb"] > 0 and record["records_per_s"] > 0
    assert set(record["ratios"]) == {"vs_decode_ceiling", "vs_naive", "vs_dlt", "latency_minimum_over_ours"}
    for key, value in record["ratios"].items():
        assert isinstance(value, float) and value > 0, (key, value)

    details = record["details"]
    tiny = get_preset("tiny")
    assert details["ok"] is True
    assert details["rows_stored"]["customers_blaze_staging"] == tiny.members
    assert details["rows_stored"]["transactions_blaze_staging"] == tiny.transactions
    assert details["decode_ceiling_records_per_s"] > 0 and details["serving"]["bytes"] > 0

    naive, dlt = details["naive"], details["dlt"]
    assert naive["records"] >= details["slice"]
    assert dlt["records"] == dlt["expected"] == naive["records"] and dlt["same_records"] is True

    latency = details["latency"]
    assert latency["calls"] > 0 and latency["minimum_s"] > 0 and latency["seconds"] > 0
    assert latency["max_calls_in_window"] <= latency["budget_calls"]
    assert set(details["rss_by_scale"]) == {"tiny"}
    # the same shop over half its history, then all of it
    history = details["rss_by_history"]
    assert [h["years"] for h in history] == [0.5, tiny.years]
    assert 0 < history[0]["records"] < history[1]["records"] == details["records"]
    assert details["rss_growth_history"] > 0 and details["data_growth_history"] > 1
