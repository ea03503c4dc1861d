"""Every way an apply can fail leaves the database exactly as it was."""

from __future__ import annotations

import pytest

from blaze_workbook import cutover
from blaze_workbook.errors import ConfigurationError, DatabaseError, InvestigateError, LockedError

from ._world import rows


def _untouched(world) -> None:
    assert world.checksums() == world.before
    assert rows(world.conn, "SELECT to_regclass('cutover_runs')") == [(None,)]


def test_a_failed_gate_blocks_apply_unless_forced(world):
    summary = {"as_of": "2024-03-01", "gate": {"threshold": 0.05, "passed": False, "failing_fields": ["customers.phone"]}, "tables": {}}
    world.plan(compare_summary=summary)
    with pytest.raises(ConfigurationError, match=r"gate failed on customers\.phone") as info:
        world.apply(gate_passed=False)
    assert isinstance(info.value, cutover.GateFailedError) and "force=true" in str(info.value)
    _untouched(world)
    result = world.apply(gate_passed=False, force=True)
    assert result.forced and "FORCED" in result.summary()
    assert rows(world.conn, "SELECT forced, gate_passed, status FROM cutover_runs") == [(True, False, "applied")]


def test_a_lock_held_elsewhere_fails_on_lock_timeout_with_nothing_changed(world):
    world.plan(lock_timeout="200ms")
    with world.db.connect() as other:
        with other.transaction():
            other.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(LockedError):
                world.apply()
    _untouched(world)


def test_a_failure_mid_apply_leaves_the_database_as_it_was(world):
    world.plan()
    with pytest.raises(InvestigateError, match="after step 2_new_columns"):
        world.apply(fail_after_step=2)
    _untouched(world)


def test_a_trigger_raising_on_the_second_steps_table_rolls_everything_back(world):
    world.plan()
    with world.conn.transaction():
        world.conn.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$;"
            "CREATE TRIGGER boom BEFORE UPDATE ON transactions FOR EACH ROW EXECUTE FUNCTION boom()"
        )
    with pytest.raises(DatabaseError, match="2_new_columns transactions"):
        world.apply()
    _untouched(world)


def test_verify_catches_a_change_without_backup(world):
    world.plan()
    with world.conn.transaction():  # a trigger writes a column the cutover did not: no backup for it
        world.conn.execute(
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;"
            "CREATE TRIGGER touch BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch()"
        )
    with pytest.raises(InvestigateError, match="every change has its backup"):
        world.apply()
    _untouched(world)


def test_a_plan_gone_stale_is_refused_by_verify(world):
    world.plan()
    with world.conn.transaction():  # a sync ran after the plan
        world.conn.execute("UPDATE customers_blaze_staging SET phone = '+15550001111' WHERE member_id = 'm-1'")
    before = world.checksums()
    with pytest.raises(InvestigateError, match="rows changed per step equal the plan"):
        world.apply()
    assert world.checksums() == before


def test_a_script_edited_after_planning_is_refused(world):
    world.plan()
    path = world.tmp / "run" / "cutover.sql"
    path.write_text(path.read_text().replace("SET LOCAL lock_timeout = '5s'", "SET LOCAL lock_timeout = '0'"))
    with pytest.raises(ConfigurationError, match="changed since it was planned"):
        world.apply()
    _untouched(world)


def test_verify_catches_a_value_changed_again_after_the_cutover_wrote_it(world):
    world.plan()
    with world.conn.transaction():  # an AFTER trigger rewrites the email the cutover just wrote
        world.conn.execute(
            "CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " UPDATE customers SET email = upper(email) WHERE id = NEW.id; RETURN NULL; END $$;"
            "CREATE TRIGGER shout AFTER UPDATE OF email ON customers FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION shout()"
        )
    with pytest.raises(InvestigateError, match="the table holds what the backups say was written"):
        world.apply()
    _untouched(world)


def test_verify_catches_a_value_replaced_by_null(world):
    world.plan()
    with world.conn.transaction():  # a trigger blanks the e-mail of every row whose name the cutover corrects
        world.conn.execute(
            "CREATE FUNCTION blank() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.name IS DISTINCT FROM OLD.name THEN NEW.email := NULL; END IF; RETURN NEW; END $$;"
            "CREATE TRIGGER blank BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION blank()"
        )
    with pytest.raises(InvestigateError, match=r"no NULL written over a value: customers of \S+: email: '[^']+' replaced by NULL"):
        world.apply()
    _untouched(world)
