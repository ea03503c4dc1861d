"""notebooks/04_cutover/cutover.ipynb through the runner: plan, apply, apply again, rollback.

On a tiny generated legacy database with Phase 1 applied and staging filled as a full sync
leaves it; the compare notebook runs first so the cutover finds a gate. After the round trip
every original table is byte-identical to before (md5 of its rows in key order).
"""

from __future__ import annotations

import json

import pytest
from psycopg import sql

from blaze_workbook import phase1
from blaze_workbook.blaze.simulator.dataset import Dataset
from blaze_workbook.legacy_gen import generate_legacy, staging_frames
from blaze_workbook.runner import run_notebook
from blaze_workbook.setup_sql import MetricsRules
from test_compare_notebook import _fill_staging

LEGACY_COLUMNS = {}


def _checksums(conn) -> dict[str, str]:
    out = {}
    for table in ("customers", "transactions", "transaction_items", "products"):
        columns = LEGACY_COLUMNS[table]
        query = sql.SQL("SELECT md5(coalesce(string_agg(row_text, E'\\n' ORDER BY id), '')) FROM "
                        "(SELECT id, ({cols})::text AS row_text FROM {t}) s").format(
            cols=sql.SQL("ROW({})").format(sql.SQL(", ").join(map(sql.Identifier, columns))), t=sql.Identifier(table))
        out[table] = conn.execute(query).fetchone()[0] + f" rows={conn.execute(sql.SQL('SELECT count(*) FROM {}').format(sql.Identifier(table))).fetchone()[0]}"
    return out


@pytest.fixture(scope="module")
def cutover_runs(pg, tmp_path_factory: pytest.TempPathFactory):
    db = pg.new_database("empty")
    tmp = tmp_path_factory.mktemp("cutover")
    ds = Dataset.generate("tiny", 0)
    manifest = generate_legacy(db.conninfo, scale="tiny", seed=0, out_dir=tmp / "legacy", dataset=ds)
    with db.connect() as conn:
        for table in ("customers", "transactions", "transaction_items", "products"):
            LEGACY_COLUMNS[table] = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", (table,))]
        before = _checksums(conn)
        conn.commit()
        phase1.apply(conn, rules=MetricsRules(timezone=ds.tz))
        _fill_staging(conn, staging_frames(ds.truth(), ds.tz))
        conn.commit()
    home = tmp / "home"
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", db.conninfo)
        runs["compare"] = run_notebook("compare", params={"as_of": manifest.as_of.isoformat(), "timezone": ds.tz}, home=home)
        for name, action in (("plan", "plan"), ("apply", "apply"), ("again", "apply"), ("rollback", "rollback")):
            runs[name] = run_notebook("cutover", params={"action": action}, home=home)
            if name == "apply":
                with db.connect() as conn:
                    runs["applied_sums"] = _checksums(conn)
    with db.connect() as conn:
        after = _checksums(conn)
    yield runs, before, after
    pg.drop_database(db.name)


def _figures(run) -> dict:
    return json.loads((run.run_dir / "key_figures.json").read_text())


def test_every_run_is_ok_and_writes_the_contract_files(cutover_runs):
    runs, _, _ = cutover_runs
    for name in ("compare", "plan", "apply", "again", "rollback"):
        assert runs[name].ok, (name, runs[name].error)
    for file in ("cutover.sql", "verify.sql", "rollback.sql", "cutover_plan.json", "finalize.sql", "report.html"):
        assert (runs["plan"].run_dir / file).is_file(), file
    plan = json.loads((runs["plan"].run_dir / "cutover_plan.json").read_text())
    assert plan["compare_run"] is not None


def test_apply_changes_what_the_plan_counted_and_a_second_apply_nothing(cutover_runs):
    runs, before, _ = cutover_runs
    planned = _figures(runs["plan"])["rows_to_change"]
    assert planned > 0
    assert _figures(runs["apply"])["rows_changed"] == planned
    assert _figures(runs["again"])["rows_changed"] == 0
    assert runs["applied_sums"] != before


def test_rollback_makes_every_table_byte_identical(cutover_runs):
    runs, before, after = cutover_runs
    figures = _figures(runs["rollback"])
    assert figures["conflicts"] == 0 and figures["values_restored"] > 0
    assert after == before
