"""``blaze-workbook simulate`` and ``start_background``: real child processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from _fixtures_sim import SIM_HEADERS, tiny_config
from typer.testing import CliRunner

from blaze_workbook import __version__
from blaze_workbook.blaze.simulator import Faults, start_background
from blaze_workbook.blaze.simulator.server import config_args
from blaze_workbook.cli import app

EXE = Path(sys.executable).with_name("blaze-workbook")


def test_help_lists_the_options():
    result = CliRunner().invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--port", "--scale", "--seed", "--now", "--rate-limit-calls", "--live-events-per-call",
                   "--fault-error-rate", "--fault-burst-429-every", "--fault-move-rate", "--export-truth",
                   "--ready-file"):
        assert option in result.output, option


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_unknown_scale_is_a_clean_error():
    result = CliRunner().invoke(app, ["simulate", "--scale", "huge", "--port", "0"])
    assert result.exit_code == 2
    assert "tiny" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("burst_retry_after", [True, False])
def test_config_round_trips_through_the_options(monkeypatch, burst_retry_after):
    """What ``start_background`` passes to the child is what the child serves."""
    faults = Faults(error_rate=0.5, burst_429_every=4, burst_retry_after=burst_retry_after, latency_ms=2.5)
    config = tiny_config(seed=3, now_ms=1_700_000_000_000, rate_limit_calls=7, rate_limit_seconds=1.5,
                         live_events_per_call=2, faults=faults, partner_key=None, developer_key=None)
    args = config_args(config)
    assert not any("key" in a for a in args)
    seen = {}
    monkeypatch.setattr("blaze_workbook.blaze.simulator.server.run_foreground",
                        lambda cfg, **kw: seen.update(config=cfg, **kw))
    result = CliRunner().invoke(app, ["simulate", *args, "--ready-file", "r.txt"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == config and seen["ready_file"] == Path("r.txt") and seen["parent_pid"] is None


def test_simulate_serves_until_terminated(tmp_path):
    ready = tmp_path / "ready"
    env = {**os.environ, "BLAZE_PARTNER_KEY": "cli-partner-secret", "BLAZE_DEVELOPER_KEY": "cli-developer-secret"}
    process = subprocess.Popen(
        [str(EXE), "simulate", "--scale", "tiny", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
            time.sleep(0.05)
        url = ready.read_text().strip()
        headers = {"x-api-key": "cli-partner-secret", "Authorization": "cli-developer-secret"}
        r = httpx.get(url + "/api/v1/partner/employees", headers=headers)
        assert r.status_code == 200 and r.json()["total"] > 0
        assert httpx.get(url + "/api/v1/partner/employees", headers=SIM_HEADERS).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    text = out.decode()
    assert url in text
    assert "secret" not in text
    assert not ready.exists()


def test_export_truth(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--scale", "tiny", "--export-truth", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("*.parquet"))
    assert files and any(f.stem == "members" for f in files)


def test_start_background():
    sim = start_background(tiny_config(faults=Faults(error_rate=0.0)), ready_timeout=60)
    try:
        r = httpx.get(sim.api_url + "/store", headers=SIM_HEADERS)
        assert r.status_code == 200 and "shop" in r.json()
        assert sim.stats()["by_endpoint"]["/api/v1/partner/store"] == {"200": 1}
    finally:
        sim.stop()
    assert sim.process.poll() is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(sim.url + "/_sim/stats", timeout=2)
