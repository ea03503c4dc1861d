"""``bench/compare.py --quick`` runs end to end and prints the contract's JSON (CONTRACTS.md §6).

A smoke test, not a measurement: no timing is asserted. It does check what the bench's figures
rest on — the engine's counts at the tiny preset equal the legacy generator's manifest
(``counts_exact``), and the baselines saw the same rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "compare.py"


def test_quick_run_prints_the_contract_keys(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--data-root", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(record) == {"bench", "scale", "seconds", "peak_rss_mb", "records_per_s", "ratios", "details"}
    assert record["bench"] == "compare" and record["scale"] == "tiny"
    assert record["seconds"] > 0 and record["peak_rss_mb"] > 0 and record["records_per_s"] > 0
    for key in ("vs_datacompy_polars", "vs_datacompy_polars_defaults", "vs_bare_floor", "vs_datacompy_polars_total", "vs_bare_floor_total"):
        assert isinstance(record["ratios"][key], float), (key, record["ratios"][key])

    tiny = record["details"]["scales"]["tiny"]
    assert tiny["ours"]["counts_exact"] is True
    rows = tiny["rows"]
    assert tiny["ours"]["rows"] == sum(rows["existing"].values()) + sum(rows["blaze"].values())
    for contender in ("datacompy", "datacompy_defaults", "floor"):
        for table in ("customers", "transactions", "transaction_items", "products"):
            run = tiny[contender][table]
            assert "failed" not in run, (contender, table, run)
            assert run["rows"] == rows["existing"][table] + rows["blaze"][table]
    # both baselines join on the same key: the same customers meet on both
    assert tiny["datacompy"]["customers"]["matched"] == tiny["floor"]["customers"]["matched"] > 0
    # datacompy at its defaults compares exactly, as the floor does; set near our rules (trimmed,
    # case-folded text) it finds fewer differences on customers, whose names and emails differ in case
    plain = tiny["datacompy_defaults"]["customers"]["mismatched"]
    assert plain == tiny["floor"]["customers"]["mismatched"]
    assert 0 < tiny["datacompy"]["customers"]["mismatched"] < plain
