"""Runs of the probe notebook, executed once per session and shared by the runner's tests.

A kernel start costs seconds, so two runs in one home cover everything: a clean run with
layered parameters, then a run that prints the configured secrets (and writes them into a JSON
and a binary file) and fails, started over a stale lock file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from _invocation import Invocation, invoke  # noqa: F401 - the runner's tests import invoke from here

from blaze_workbook.runner import register

NOTEBOOKS = Path(__file__).parent / "notebooks"
#: distinctive values no file may keep (the failing run prints them)
LEAK_KEY = "pk-LEAKPROBE-7f3a9c1e5b2d4068"
LEAK_PASSWORD = "pw-LEAKPROBE-91c2e7d4"


@dataclass(frozen=True)
class ProbeRuns:
    home: Path
    ok: Invocation
    #: failed on purpose, after printing the secrets
    failed: Invocation


def dead_pid() -> int:
    """The PID of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_app(defaults_file: Path | None = None) -> typer.Typer:
    app = typer.Typer(add_completion=False)
    register(app, notebooks_dir=NOTEBOOKS, defaults_file=defaults_file)
    return app


@pytest.fixture(scope="session")
def probe_runs(tmp_path_factory: pytest.TempPathFactory) -> ProbeRuns:
    base = tmp_path_factory.mktemp("probe")
    defaults = base / "default.yaml"
    defaults.write_text(
        "greeting: from-defaults\nshop_timezone_fallback: America/Los_Angeles\n"
        "probe:\n  count: 2\n  as_of: 2026-03-04\n  not_declared_here: 1\n"
        "sync:\n  mode: incremental\n"
    )
    params_file = base / "params.yaml"
    params_file.write_text("greeting: from-file-shared\nprobe:\n  count: 5\n  ratio: 0.25\n")
    app = make_app(defaults)
    home = base / "home"
    clean = {"BLAZE_WORKBOOK_HOME": str(home), "BLAZE_PARTNER_KEY": "", "BLAZE_DEVELOPER_KEY": "",
             "DATABASE_URL": ""}
    ok = invoke(app, ["run", "probe", "--params", str(params_file), "-p", "greeting=from-cli",
                      "-p", "names=x, y", "-p", "flag=yes", "-p", "since=2026-02-03"], clean)
    # a crashed run's PID file (its process is gone): the next run clears it and says so
    (home / "run.lock.pid").write_text(json.dumps({"pid": dead_pid(), "owner": "sync", "since": "x", "host": "h"}))
    leaky = {**clean, "BLAZE_PARTNER_KEY": LEAK_KEY,
             "DATABASE_URL": f"postgresql://workbook:{LEAK_PASSWORD}@127.0.0.1:1/legacy"}
    failed = invoke(app, ["run", "probe", "-p", "fail=true", "-p", "leak=yes", "-p", "plot=no"], leaky)
    return ProbeRuns(home, ok, failed)
