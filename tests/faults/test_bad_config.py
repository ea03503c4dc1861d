"""Bad configuration, each a clear error of the workbook's error tree, and nothing lost (issue 8).

Invalid parameters are refused by ``blaze-workbook run`` before anything starts (exit 2, no run
folder) or, for ranges only the library knows, by the function the notebook calls, before it
changes anything. Broken surroundings (a ``DATABASE_URL`` pointing nowhere, a legacy table
missing, a staging table edited by hand, the DuckDB warehouse held by another process or cut in
half) each give an error that names what is wrong and what to do, and leave every other file
and row as it was. Two runs go through the runner, so the report says it too.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from psycopg import sql
from typer.testing import CliRunner

from _fixtures_pg import SEED_ROWS, PgServer, TestDatabase
from _sync_run import run_sync
from blaze_workbook import compare as C
from blaze_workbook import phase1
from blaze_workbook.cli import app
from blaze_workbook.compare_report import examples, load_sides
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.errors import ConfigurationError, DatabaseError, LockedError, WorkbookError
from blaze_workbook.mapping import CUSTOMERS
from blaze_workbook.runner import run_notebook
from blaze_workbook.setup_sql import MetricsRules
from blaze_workbook.sync import Warehouse, push

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def _cli(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _days_back(sim, days: int) -> str:
    now = datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC)
    return (now - timedelta(days=days)).astimezone(ZoneInfo(sim.dataset.tz)).date().isoformat()


def _snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _settings(sim) -> BlazeSettings:
    return BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)


# --------------------------------------------------------------------------- invalid parameters


@pytest.mark.parametrize(
    ("notebook", "args", "message"),
    [
        ("compare", ["-p", "as_of=2026-13-45"], "'as_of' wants an ISO date (YYYY-MM-DD), got '2026-13-45'"),
        ("sync", ["-p", "since=2026-13-45"], "'since' wants an ISO date (YYYY-MM-DD), got '2026-13-45'"),
        ("sync", ["-p", "since=yesterday"], "'since' wants an ISO date"),
        ("compare", ["-p", "threshold=[0.05, 0.1]"], "'threshold' wants a number"),
        ("setup", ["-p", "probe_limit=[10, 20]"], "'probe_limit' wants an integer"),
        ("setup", ["-p", "probe_limit=1.5"], "'probe_limit' wants an integer"),
        ("sync", ["-p", "force=[true]"], "'force' wants a bool"),
        ("compare", ["-p", "mask_pii=maybe"], "'mask_pii' wants a bool"),
        ("compare", ["-p", "vip_tiers=[16, 6, 2]"], "'vip_tiers' wants a YAML mapping"),
        ("cutover", ["-p", "actoin=apply"], "unknown parameter(s) for cutover: actoin; valid: action, compare_run, force, run, steps"),
    ],
)
def test_invalid_parameters_are_refused_before_anything_runs(notebook, args, message, tmp_path, monkeypatch):
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(tmp_path))
    code, out, err = _cli(["run", notebook, *args])
    assert code == 2 and message in err, err
    assert list(tmp_path.iterdir()) == []  # not even a reports folder


@pytest.mark.parametrize(
    ("notebook", "yaml_text", "message"),
    [
        ("sync", "mode: [backfill, incremental]\n", "'mode' wants a string"),
        ("cutover", "cutover:\n  action: [plan]\n", "'action' wants a string"),
        ("compare", "as_of: 2026-13-45\n", "is not valid YAML: month must be in 1..12"),
        ("sync", "sync:\n  lookback_hours: {hours: 4}\n", "'lookback_hours' wants an integer"),
    ],
)
def test_a_params_file_with_lists_for_scalars_is_refused(notebook, yaml_text, message, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(home))
    params = tmp_path / "params.yaml"
    params.write_text(yaml_text)
    code, _, err = _cli(["run", notebook, "--params", str(params)])
    assert code == 2 and message in err, err
    assert not (home / "reports").exists()


def _sync_with(**kwargs) -> Callable[[Warehouse], object]:
    return lambda wh: run_sync(None, wh, mode="backfill", since="2026-01-01", push=False, **kwargs)


#: negative (or zero) limits, rates and counts: (what the notebook calls, the error, what the message names)
NEGATIVE: dict[str, tuple[Callable[[Warehouse], object], type[WorkbookError], str]] = {
    "sync lookback_hours=-5": (_sync_with(lookback_hours=-5), ConfigurationError, "lookback_hours must be >= 0"),
    "sync concurrency=0": (_sync_with(concurrency=0), ConfigurationError, "concurrency and max_passes >= 1"),
    "sync budget_fraction=-0.1": (_sync_with(budget_fraction=-0.1), ConfigurationError, "0 < fraction <= 1"),
    "compare threshold=-0.5": (lambda wh: C.evaluate_gate({}, threshold=-0.5), ConfigurationError, "rate between 0 and 1; got -0.5"),
    "compare threshold=5": (lambda wh: C.evaluate_gate({}, threshold=5), ConfigurationError, "rate between 0 and 1; got 5"),
    "compare vip_tiers VIP=-16": (lambda wh: MetricsRules.from_params({"vip_tiers": {"VIP": -16, "Regular": 6, "Casual": 2}}),
                                  ConfigurationError, "0 < Casual < Regular < VIP"),
    "compare churn_days High=-60": (lambda wh: MetricsRules.from_params({"churn_days": {"High": -60, "Medium": 30}}),
                                    ConfigurationError, "0 <= Medium <= High"),
}


@pytest.mark.parametrize("case", list(NEGATIVE))
def test_negative_limits_thresholds_and_lookbacks_are_clear_errors_that_change_nothing(case, tmp_path, monkeypatch):
    monkeypatch.setenv("BLAZE_BASE_URL", "http://127.0.0.1:9")  # never reached: the check comes first
    monkeypatch.setenv("BLAZE_PARTNER_KEY", DEMO_PARTNER_KEY)
    monkeypatch.setenv("BLAZE_DEVELOPER_KEY", DEMO_DEVELOPER_KEY)
    call, error, message = NEGATIVE[case]
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        before = wh.row_counts()
        with pytest.raises(error) as info:
            call(wh)
        assert message in str(info.value)
        assert wh.row_counts() == before and wh.sql("SELECT count(*) AS n FROM raw_pages").item() == 0


def test_a_negative_examples_limit_is_a_clear_error(legacy_db: TestDatabase):
    with legacy_db.connect() as conn:
        phase1.apply(conn)
        sides = load_sides(conn)
    result = C.compare(sides.existing, sides.blaze, as_of=datetime(2024, 3, 1).date())
    with pytest.raises(ConfigurationError, match="examples_per_field must be 0 or more; got -1"):
        examples(result, per_field=-1)
    assert examples(result, per_field=0).height == 0


def test_a_probe_limit_below_one_is_refused_before_any_call(sim):
    from blaze_workbook import probe

    settings = _settings(sim)
    before = sim.stats()["calls"]
    with probe.probe_client(settings) as client, pytest.raises(ValueError, match="probe_limit must be at least 1, not -3"):
        probe.run_probe(client, settings, probe_limit=-3)
    assert sim.stats()["calls"] == before


# --------------------------------------------------------------------------- Postgres


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_database_url_pointing_nowhere_fails_the_run_with_what_to_fix(tmp_path, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:pw-faults-1234@127.0.0.1:{port}/shop?connect_timeout=3")
    home = tmp_path / "home"
    run = run_notebook("compare", params={"as_of": "2024-03-01"}, home=home)
    assert not run.ok
    assert f"cannot reach Postgres at shop@127.0.0.1:{port}/shop" in run.error
    assert "DatabaseError" in (run.run_dir / "report.html").read_text()
    assert "start the server or fix host and port in DATABASE_URL" in (run.run_dir / "compare.ipynb").read_text()
    assert "pw-faults-1234" not in (run.run_dir / "report.html").read_text() + json.dumps(run.record)
    assert not (run.run_dir / "compare_summary.json").exists()  # nothing half-written


@pytest.mark.parametrize("step", ["setup", "compare"])
def test_a_missing_legacy_table_is_named_and_nothing_is_created(step, legacy_db: TestDatabase):
    with legacy_db.connect() as conn:
        conn.execute("DROP TABLE customers")
        conn.commit()
        tables_before = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
        conn.commit()
        with pytest.raises(DatabaseError) as info:
            if step == "setup":
                phase1.apply(conn)
            else:
                load_sides(conn)
        conn.rollback()
        tables_after = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
        counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0] for t in tables_after}
    assert "customers" in info.value.message and "DATABASE_URL" in info.value.hint
    assert tables_after == tables_before  # setup created no staging table: one transaction, rolled back
    assert counts == {t: n for t, n in SEED_ROWS.items() if t != "customers"}


@dataclass
class Staged:
    db: TestDatabase
    warehouse: Warehouse
    sim: object

    def staging(self) -> pl.DataFrame:
        with self.db.connect() as conn:
            rows = conn.execute(sql.SQL("SELECT member_id, phone, loyalty_points::text FROM {} ORDER BY 1").format(
                sql.Identifier(CUSTOMERS.staging))).fetchall()
        return pl.DataFrame(rows, schema=["member_id", "phone", "loyalty_points"], orient="row")


@pytest.fixture()
def staged(sim, pg: PgServer, tmp_path) -> Iterator[Staged]:
    """Phase 1 applied, a short backfill synced and pushed: staging equals the warehouse."""
    db = pg.new_database("legacy")
    with db.connect() as conn:
        phase1.apply(conn)
    with Warehouse.open(tmp_path / "warehouse.duckdb") as wh:
        summary = run_sync(_settings(sim), wh, mode="backfill", since=_days_back(sim, 10), entities=["members", "lookups"],
                           conninfo=db.conninfo, now=datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC))
        assert summary.ok, str(summary)
        yield Staged(db, wh, sim)
    pg.drop_database(db.name)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("ALTER TABLE customers_blaze_staging DROP COLUMN phone CASCADE", "phone"),
        ("DROP VIEW customers_comparison; ALTER TABLE customers_blaze_staging ALTER COLUMN loyalty_points TYPE integer "
         "USING round(loyalty_points)::integer", "loyalty_points"),
    ],
    ids=["column dropped", "type changed"],
)
def test_a_staging_table_edited_by_hand_stops_the_push_clearly_and_loses_nothing(edit, message, staged: Staged):
    before = staged.staging()
    warehouse_rows = staged.warehouse.row_counts()[CUSTOMERS.staging]
    assert before.height == warehouse_rows > 0
    with staged.db.connect() as conn:
        conn.execute(edit)
        conn.commit()
    with pytest.raises(DatabaseError) as info:
        push(staged.warehouse, staged.db.conninfo, tables=[CUSTOMERS.staging], full=True)
    text = str(info.value)
    assert CUSTOMERS.staging in text and message in text and "01_setup" in info.value.hint, text
    assert staged.warehouse.row_counts()[CUSTOMERS.staging] == warehouse_rows  # the warehouse keeps everything
    with staged.db.connect() as conn:  # what the hand edit left is untouched by the failed push
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(CUSTOMERS.staging))).fetchone()[0] == warehouse_rows
        conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(CUSTOMERS.staging)))  # the hint's recovery
        conn.commit()
        phase1.apply(conn)
    push(staged.warehouse, staged.db.conninfo, tables=[CUSTOMERS.staging])
    assert staged.staging().equals(before)


# --------------------------------------------------------------------------- the DuckDB warehouse


def _wait_for(proc: subprocess.Popen, marker: str) -> None:
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith(marker):
            return
    raise AssertionError(f"the holder ended before {marker!r}")


@pytest.fixture()
def synced_home(sim, tmp_path, monkeypatch) -> Path:
    """A home whose warehouse holds a short backfill (no push), as a first sync leaves it."""
    home = tmp_path / "home"
    monkeypatch.setenv("BLAZE_WORKBOOK_HOME", str(home))
    monkeypatch.setenv("BLAZE_BASE_URL", sim.url)
    monkeypatch.setenv("BLAZE_PARTNER_KEY", DEMO_PARTNER_KEY)
    monkeypatch.setenv("BLAZE_DEVELOPER_KEY", DEMO_DEVELOPER_KEY)
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        summary = run_sync(_settings(sim), wh, mode="backfill", since=_days_back(sim, 10), push=False,
                           now=datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC))
        assert summary.ok and summary.records > 0
    return home


def test_a_locked_then_truncated_warehouse_is_a_clear_error_and_nothing_else_is_lost(synced_home: Path):
    home, path = synced_home, synced_home / "warehouse.duckdb"
    with Warehouse.open(path) as wh:
        stored = wh.sql("SELECT count(*) AS n FROM raw_pages").item()
    # 1. another process holds the file read-write: the sync (as the notebook calls it) refuses to start
    holder = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", holder, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(proc, "ready")
        with pytest.raises(LockedError) as locked:
            run_sync(None, None, push=False)
    finally:
        proc.kill()
        proc.wait()
    assert f"the warehouse {path} is in use by another process" in locked.value.message
    assert "wait for the other sync to finish" in locked.value.hint
    with Warehouse.open(path) as wh:  # free again, and untouched
        assert wh.sql("SELECT count(*) AS n FROM raw_pages").item() == stored
    # 2. the file cut in half
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = _snapshot(home)
    cut = run_notebook("sync", params={"push": False}, home=home)
    assert not cut.ok
    assert f"the warehouse {path} is not a readable DuckDB database" in cut.error
    assert "move it aside" in cut.error and "mode=backfill" in cut.error
    after = _snapshot(home)
    changed = {k for k in before if after.get(k) != before[k]}
    assert "warehouse.duckdb" in before and not changed, changed  # the truncated file itself is left for the user
    new = {k for k in after if k not in before}
    assert new and all(k.startswith(f"reports/{cut.run_dir.name}/") or k in ("reports/index.html", "run.lock") for k in new), new
    # the hint's recovery works: moved aside, a new warehouse is created
    path.rename(path.with_name("warehouse.damaged.duckdb"))
    with Warehouse.open(path) as wh:
        assert wh.row_counts()[CUSTOMERS.staging] == 0
    assert len(data) // 2 == (home / "warehouse.damaged.duckdb").stat().st_size

