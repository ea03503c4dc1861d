"""A sync killed with SIGKILL at any instant resumes and ends equal to a run never interrupted.

The run is a backfill in a child process against the simulator served by this process over
127.0.0.1; the child (``tests/faults/_kill.py``, shared with the fault suite) kills itself
(SIGKILL: no cleanup, no ``finally``) at one of three points: after a stored page, inside the
DuckDB transaction of a page (before COMMIT), and right after an entity finished. The next run
is the ordinary scheduled one (``mode="incremental"``) in this process. Windows marked done in
the killed run's state are never listed again; only windows the kill interrupted (at most one
per parallel worker) are listed a second time.
"""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from _fixtures_sim import tiny_config
from _sync_run import run_sync
from _sync_truth import KEYS, diff, warehouse_rows
from blaze_workbook.blaze.simulator import serve
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.sync import MAIN_ENTITIES, Plan, Warehouse
from faults._kill import KillPoint, SyncJob, run_child, sync_child, tail

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The simulator, the run's range and the tables an uninterrupted backfill leaves."""
    with serve(tiny_config(seed=5, rate_limit_calls=0)) as sim:
        now = datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC)
        since = (now - timedelta(days=14)).astimezone(ZoneInfo("America/Los_Angeles")).date()
        now += timedelta(days=1)
        path = tmp_path_factory.mktemp("reference") / "warehouse.duckdb"
        with Warehouse.open(path) as wh:
            summary = run_sync(BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY), wh, mode="backfill",
                               since=since, now=now, push=False)
            assert summary.ok
            reference = {t: warehouse_rows(wh, t) for t in KEYS}
        yield sim, since, now, reference


def _windows_of(wh: Warehouse, run_id: str, entity: str) -> set[str]:
    """Windows of the main phase that ``run_id`` stored pages of."""
    requests = wh.sql("SELECT request FROM raw_pages WHERE run_id = $r AND entity = $e", {"r": run_id, "e": entity})
    out = set()
    for text in requests.get_column("request").to_list():
        request = json.loads(text)
        if request.get("phase") == "main" and request.get("window"):
            out.add(request["window"])
    return out


@pytest.mark.parametrize(
    ("point", "arg"),
    [
        ("page", "members:2"),  # after a page was stored, members filling in parallel
        ("commit", "transactions:3"),  # inside a page's transaction, before COMMIT
        ("done", "transactions"),  # right after transactions finished (members and products, in the other lane, may or may not be)
    ],
)
def test_a_killed_sync_resumes_and_equals_an_uninterrupted_one(world, tmp_path, point, arg):
    sim, since, now, reference = world
    path = tmp_path / "warehouse.duckdb"
    entity, _, n = arg.partition(":")
    log = tmp_path / "child.log"
    kill = KillPoint(point, entity, int(n or 1))
    job = SyncJob(sim.url, str(path), now.isoformat(), kill, str(log), since=since.isoformat())
    assert run_child(sync_child, job) == -signal.SIGKILL, tail(str(log))

    with Warehouse.open(path) as wh:  # DuckDB replays its log; the killed transaction is gone
        killed_run = wh.runs()["run_id"][0]
        plans = {e: Plan.from_cursor(e, (wh.state(e) or {}).get("cursor") or {}) for e in MAIN_ENTITIES}
        done = {e: {str(w) for i, w in enumerate(p.windows()) if i in p.done} if p and p.phase == "main" else set()
                for e, p in plans.items()}
        touched = {e: _windows_of(wh, killed_run, e) for e in MAIN_ENTITIES}
        if point != "done":
            assert done[arg.split(":")[0]], "the kill came before any window was done: nothing to check"
        if point == "commit":
            entity, n = arg.split(":")
            stored = wh.sql("SELECT count(*) AS n FROM raw_pages WHERE entity = $e AND "
                            "json_extract_string(request, '$.checkpoint') IS DISTINCT FROM 'planned'", {"e": entity}).item()
            assert stored == int(n) - 1  # the page whose COMMIT never came left nothing behind

        resumed = run_sync(BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY), wh, now=now, push=False)
        assert resumed.ok, str(resumed)
        killed = wh.runs().filter(wh.runs()["run_id"] == killed_run)
        assert killed["status"].item() == "interrupted"
        if point == "done":  # the calls of the entities it finished are on its record
            assert killed["calls"].item() > 0

        for table, rows in reference.items():
            assert diff(rows, warehouse_rows(wh, table)) == {}, table
        for entity in MAIN_ENTITIES:
            again = _windows_of(wh, resumed.run_id, entity)
            assert not again & done[entity], f"{entity}: windows done before the kill were listed again"
            interrupted = (touched[entity] - done[entity]) if plans[entity] else set()
            assert len(again & interrupted) <= 4, entity  # at most one window per parallel worker
        statuses = {e.entity: e.status for e in resumed.entities}
        if point == "done":
            # finished entities are not due again (cadence); the others finish the plan the killed run stored
            assert {e: statuses[e] for e in MAIN_ENTITIES} == {e: "resumed" if plans[e] else "skipped" for e in MAIN_ENTITIES}
            assert not plans["transactions"]
            assert all(resumed.entity(e).calls == 0 for e in MAIN_ENTITIES if not plans[e])
        else:
            assert statuses[arg.split(":")[0]] == statuses["products"] == "resumed"
