"""Rollback: every table byte-identical to before, conflicts kept and reported."""

from __future__ import annotations

import csv

import pytest

from blaze_workbook import cutover
from blaze_workbook.errors import ConfigurationError

from ._world import rows


def test_rollback_makes_every_table_byte_identical(world):
    world.plan()
    world.apply()
    assert world.checksums() != world.before
    result = cutover.rollback(world.conn, world.tmp / "run")
    assert world.checksums() == world.before  # columns and the md5 of every row, all columns, in key order
    assert result.conflicts == () and result.removed == 5 and result.restored > 0
    assert len(result.dropped_columns) == 11  # the _old columns this run created
    assert rows(world.conn, "SELECT status FROM cutover_runs") == [("rolled_back",)]
    again = cutover.rollback(world.conn, world.tmp / "run")
    assert again.already_rolled_back and world.checksums() == world.before


def test_rollback_by_run_id_days_later_with_the_stored_script(world):
    plan = world.plan()
    world.apply()
    (world.tmp / "run" / "rollback.sql").rename(world.tmp / "rollback.sql.moved")  # the folder lost its script
    (world.tmp / "run" / cutover.PLAN_FILE).unlink()
    with world.conn.transaction():  # "days later": the backups still say what to do
        world.conn.execute("UPDATE cutover_runs SET applied_at = applied_at - interval '9 days'")
    result = cutover.rollback(world.conn, plan.run_id, out_dir=world.tmp / "out")
    assert world.checksums() == world.before and result.conflicts == ()
    assert (world.tmp / "out" / cutover.CONFLICTS_CSV).exists()


def test_a_value_changed_after_the_cutover_survives_rollback_as_a_conflict(world):
    world.plan()
    world.apply()
    with world.db.connect() as other, other.transaction():  # another application, after the cutover
        other.execute("UPDATE customers SET email = 'ana@crm.example' WHERE member_id = 'm-1'")
        other.execute("UPDATE customers SET phone = '+15550000005' WHERE member_id = 'm-5'")  # a row the cutover inserted
        other.execute("UPDATE transactions SET blaze_status = 'Voided' WHERE transaction_id = 't-1'")
    result = cutover.rollback(world.conn, world.tmp / "run")
    found = {(c.table, c.key, c.column): c for c in result.conflicts}
    assert set(found) == {("customers", "m-1", "email"), ("customers", "m-5", "*"), ("transactions", "t-1", "blaze_status")}
    email = found[("customers", "m-1", "email")]
    assert (email.cutover_value, email.current_value, email.restore_value) == ("ana@example.com", "ana@crm.example", "ANA@example.com")
    assert rows(world.conn, "SELECT email, name FROM customers WHERE member_id = 'm-1'") == [("ana@crm.example", "Ana  Lopez")]
    assert rows(world.conn, "SELECT phone FROM customers WHERE member_id = 'm-5'") == [("+15550000005",)]
    assert rows(world.conn, "SELECT blaze_status, trans_type FROM transactions WHERE transaction_id = 't-1'") == [("Voided", None)]
    assert rows(world.conn, "SELECT count(*) FROM cutover_conflicts") == [(3,)]
    with open(result.conflicts_csv, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    # everything else is back: products and items were not touched by the other application
    after, before = world.checksums(), world.before
    assert after["products"] == before["products"] and after["transaction_items"] == before["transaction_items"]


def test_rollback_refuses_while_a_later_run_is_applied(world):
    world.plan("first", steps=[1])
    world.apply("first")
    world.plan("second", steps=[2])
    world.apply("second")
    with pytest.raises(ConfigurationError, match="roll them back first"):
        cutover.rollback(world.conn, world.tmp / "first")
    cutover.rollback(world.conn, world.tmp / "second")
    cutover.rollback(world.conn, world.tmp / "first")
    assert world.checksums() == world.before
