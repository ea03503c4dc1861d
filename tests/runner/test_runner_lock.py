"""The workbook lock, and the run command's answers that need no kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from blaze_workbook.errors import LockedError
from blaze_workbook.runner.lock import EXIT_LOCKED, PID_NAME, WorkbookLock, pid_alive

from .conftest import dead_pid, invoke, make_app

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from blaze_workbook.runner.lock import WorkbookLock
    with WorkbookLock(Path(sys.argv[1]), owner="sync"):
        print("held", flush=True)
        sys.stdin.readline()
    """
)


@pytest.fixture()
def holder(tmp_path: Path):
    """Another process holding the lock of ``tmp_path / 'home'`` until the test ends."""
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield home, proc
    proc.communicate("", timeout=20)  # closing stdin lets it release and exit


def test_acquire_writes_pid_file_and_release_removes_it(tmp_path: Path):
    with WorkbookLock(tmp_path, owner="compare") as lock:
        record = json.loads((tmp_path / PID_NAME).read_text())
        assert record["pid"] == os.getpid() and record["owner"] == "compare"
        assert lock.stale is None
    assert not (tmp_path / PID_NAME).exists()


def test_same_process_cannot_take_it_twice(tmp_path: Path):
    with WorkbookLock(tmp_path), pytest.raises(LockedError, match="already runs"):
        WorkbookLock(tmp_path).acquire()
    WorkbookLock(tmp_path).acquire().release()  # free again afterwards


def test_held_by_another_process_names_the_holder(holder):
    home, proc = holder
    with pytest.raises(LockedError, match=rf"PID {proc.pid} \(sync\)"):
        WorkbookLock(home).acquire()


def test_stale_pid_file_is_detected_and_cleared(tmp_path: Path):
    dead = dead_pid()
    assert not pid_alive(dead)
    (tmp_path / PID_NAME).write_text(json.dumps({"pid": dead, "owner": "sync", "since": "x", "host": "h"}))
    with WorkbookLock(tmp_path) as lock:
        assert lock.stale is not None and lock.stale.pid == dead
        assert json.loads((tmp_path / PID_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / PID_NAME).exists()


def test_garbage_pid_file_does_not_block(tmp_path: Path):
    (tmp_path / PID_NAME).write_text("not json")
    with WorkbookLock(tmp_path):
        pass


def test_run_exits_75_with_one_line_when_locked(holder):
    home, proc = holder
    before = sorted(p.name for p in home.rglob("*"))
    run = invoke(make_app(), ["run", "probe"], {"BLAZE_WORKBOOK_HOME": str(home)})
    assert run.exit_code == EXIT_LOCKED
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"PID {proc.pid}" in lines[0]
    assert sorted(p.name for p in home.rglob("*")) == before  # nothing created or touched


def test_unknown_notebook_lists_valid_ones(tmp_path: Path):
    run = invoke(make_app(), ["run", "nosuch"], {"BLAZE_WORKBOOK_HOME": str(tmp_path)})
    assert run.exit_code == 2 and "unknown notebook 'nosuch'; valid: probe" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "nope=1"], "unknown parameter(s) for probe: nope; valid: as_of, count, fail"),
        (["-p", "api_key=abc"], "look like secrets"),
        (["-p", "count=many"], "'count' wants an integer"),
        (["-p", "count"], "-p wants NAME=VALUE"),
    ],
)
def test_bad_parameters_exit_2_before_anything_runs(tmp_path: Path, args: list[str], message: str):
    run = invoke(make_app(), ["run", "probe", *args], {"BLAZE_WORKBOOK_HOME": str(tmp_path)})
    assert run.exit_code == 2
    assert message in run.stderr
    assert not (tmp_path / "reports").exists()
