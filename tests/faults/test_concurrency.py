"""Concurrency: two scheduled runs at once, and long transactions of other applications in Postgres.

- Two ``blaze-workbook run sync`` at once on one workbook home: the first, a real process
  syncing the simulator, holds the home's lock; the second exits 75 with one line naming the
  first's PID and touches nothing; the first ends ok with the reference's tables
  (``tests/runner/test_runner_lock.py`` covers the lock itself against a stand-in holder).
- A long transaction holding a lock on a staging table during the push: the push fails on
  ``lock_timeout`` with an error naming the table and the lock, every staging table is whole or
  untouched, and the next ordinary run pushes the rest.
- A long transaction holding a row lock during ``cutover apply``: the apply fails on
  ``lock_timeout``, the database is as before, and applying again once the lock is gone
  succeeds and verifies (``tests/cutover/test_failures.py`` covers the failing half alone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from blaze_workbook import cutover
from blaze_workbook.cli import app
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY
from blaze_workbook.errors import LockedError
from blaze_workbook.mapping import TABLES
from blaze_workbook.runner.lock import EXIT_LOCKED, PID_NAME, WorkbookLock
from blaze_workbook.sync import Warehouse

from ._kill import Check, compare, digests, postgres_rows, warehouse_rows, whole_or_empty

pytestmark = pytest.mark.timeout(300)

STAGING = tuple(t.staging for t in TABLES)


def _holder_pid(home: Path, proc: subprocess.Popen, timeout: float = 120) -> int:
    """Wait until ``proc`` holds the home's lock (its PID file names it); fail if it ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if f'"pid": {proc.pid}' in (home / PID_NAME).read_text():
                return proc.pid
        except OSError:
            pass
        assert proc.poll() is None, f"the first run ended before it was seen holding the lock: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"the first run did not take the lock in {timeout} s")


def test_two_scheduled_runs_at_once_the_second_exits_75_and_the_first_is_intact(reference, fault_sim, new_staging_db,
                                                                                 tmp_path, tally):
    db = new_staging_db()
    home = tmp_path / "home"
    env = {"BLAZE_WORKBOOK_HOME": str(home), "BLAZE_BASE_URL": fault_sim.url, "BLAZE_PARTNER_KEY": DEMO_PARTNER_KEY,
           "BLAZE_DEVELOPER_KEY": DEMO_DEVELOPER_KEY, "DATABASE_URL": db.conninfo}
    args = ["run", "sync", "-p", "mode=backfill", "-p", f"since={reference.since.isoformat()}"]
    first = subprocess.Popen([str(Path(sys.executable).with_name("blaze-workbook")), *args], env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = _holder_pid(home, first)
        second = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
        out, err = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert second.exit_code == EXIT_LOCKED and second.stdout == ""
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"PID {pid} (sync)" in lines[0], second.stderr

    assert first.returncode == 0, err[-3000:]
    run_dir = Path(out.strip().splitlines()[-1])
    assert [p.name for p in (home / "reports").iterdir() if p.is_dir()] == [run_dir.name]  # the second made no folder
    assert not (home / PID_NAME).exists()
    WorkbookLock(home).acquire().release()  # free for the next run
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        assert wh.runs()["status"].to_list() == ["ok"]  # one run, the first's
        check = compare(reference.rows, warehouse_rows(wh)) + compare(reference.rows, postgres_rows(db.conninfo))
    assert check.ok, str(check)
    assert check.records == 2 * reference.records
    tally.add("two runs at once", runs=2, faults=1, check=check)


def test_a_lock_held_through_the_push_fails_it_cleanly_and_the_next_run_pushes(reference, new_staging_db, tmp_path, tally):
    db = new_staging_db()
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(reference.warehouse, path)  # everything fetched: the ordinary run only pushes
    locked = "transaction_items_blaze_staging"
    with psycopg.connect(db.conninfo) as other, Warehouse.open(path) as wh:
        # another application's long transaction: readers may go on, writers wait
        other.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.Identifier(locked)))
        blocked = reference.resume(wh, db.conninfo)
        during = whole_or_empty(reference.rows, postgres_rows(db.conninfo))
        other.rollback()

        assert not blocked.ok and blocked.push.status == "failed" and blocked.status == "partial"
        assert wh.runs()["status"].to_list()[-1] == "partial"  # `status` must not show a failed push as ok
        assert "the rest rolled back" in blocked.push.message and "committed" in blocked.push.message
        assert locked in blocked.push.message and "lock_timeout" in blocked.push.message, blocked.push.message
        # one transaction per table: the tables before the locked one whole, the rest untouched
        assert during == {t: "full" if i < STAGING.index(locked) else "empty" for i, t in enumerate(STAGING)}

        again = reference.resume(wh, db.conninfo)
        assert again.ok and again.push.status == "ok", str(again)
        assert {t: c["inserted"] for t, c in again.push.tables.items()} == {
            t: 0 if during[t] == "full" else len(reference.rows[t]) for t in STAGING
        }
        check = compare(reference.rows, warehouse_rows(wh)) + compare(reference.rows, postgres_rows(db.conninfo))
    assert check.ok, str(check)
    tally.add("push under a Postgres lock", runs=2, faults=1, check=check)


def test_a_lock_held_through_cutover_apply_fails_it_and_the_next_apply_succeeds(cutover_world, tally):
    world = cutover_world("run", lock_timeout="200ms")
    with psycopg.connect(world.db.conninfo, autocommit=True) as conn, psycopg.connect(world.db.conninfo) as other:
        # another application's long transaction holding one customer's row
        other.execute("SELECT * FROM customers WHERE member_id = 'm-1' FOR UPDATE")
        with pytest.raises(LockedError, match="lock_timeout") as failed:
            cutover.apply(conn, world.run_dir, gate_passed=True)
        assert "nothing was changed" in failed.value.hint
        assert digests(conn) == world.before  # every table as it was, no side table
        other.rollback()

        applied = cutover.apply(conn, world.run_dir, gate_passed=True)  # verifies inside its transaction, or raises
        assert not applied.already_applied and applied.rows > 0
        assert conn.execute("SELECT run_id, status FROM cutover_runs").fetchall() == [(world.run_id, "applied")]
        rows = sum(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                   for t in ("customers", "transactions", "transaction_items", "products"))
    tally.add("cutover apply under a Postgres lock", runs=2, faults=1, check=Check(records=rows))
