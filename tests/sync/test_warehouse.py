"""The DuckDB warehouse: merge rules, idempotency, one transaction per page, replay, damage."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from _sync_pages import T0, history, lookups, member, page, transaction
from blaze_workbook.errors import ConfigurationError, InputDataError, LockedError
from blaze_workbook.mapping import CUSTOMERS, TABLES, TRANSACTION_ITEMS, TRANSACTIONS
from blaze_workbook.sync import Warehouse

HERE = Path(__file__).resolve().parent


@pytest.fixture()
def wh(tmp_path):
    with Warehouse.open(tmp_path / "warehouse.duckdb") as warehouse:
        yield warehouse


def snapshot(w: Warehouse) -> dict[str, pl.DataFrame]:
    """What a sync produced, without the bookkeeping that records *when* it happened."""
    out = {t.staging: w.staging_frame(t) for t in TABLES}
    out["quarantine"] = w.sql("SELECT entity, record_id, reason, payload FROM quarantine ORDER BY ALL")
    out["state"] = w.sql("SELECT entity, watermark_ms, cursor FROM state ORDER BY entity")
    out["lookups"] = w.sql("SELECT lookup, id, name, time_zone FROM lookups ORDER BY ALL")
    return out


def assert_same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert_frame_equal(a[name], b[name], check_exact=True), name


def ingest_all(w: Warehouse, pages, run_id: str = "run-1") -> None:
    for i, (entity, body, state) in enumerate(pages):
        w.ingest(run_id, entity, body, {"i": i}, state)


# --- merge rules --------------------------------------------------------------------------------


def test_ingest_counts_and_the_same_page_twice_changes_nothing(wh):
    body = page(transaction(1), transaction(2, items=3))
    first = wh.ingest("r1", "transactions", body)
    assert (first.new, first.updated, first.unchanged, first.quarantined, first.records) == (7, 0, 0, 0, 2)
    assert first.tables[TRANSACTIONS.staging].new == 2 and first.tables[TRANSACTION_ITEMS.staging].new == 5
    before = {t.staging: wh.typed_frame(t) for t in TABLES}
    second = wh.ingest("r2", "transactions", body)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 7)
    for t in TABLES:  # not even the bookkeeping moved
        assert_frame_equal(wh.typed_frame(t), before[t.staging])
    assert wh.row_counts() == {
        "customers_blaze_staging": 0,
        "transactions_blaze_staging": 2,
        "transaction_items_blaze_staging": 5,
        "products_blaze_staging": 0,
    }


def test_a_page_inserted_as_new_that_holds_a_stored_key_is_merged_as_if_probed(wh):
    """A page's keys are inserted as new without a probe; one stored key fails that insert on the
    primary key, and the page is written again with its keys probed: counts and rows as if probed."""
    wh.ingest("r1", "transactions", page(transaction(1), transaction(2)))
    changed = transaction(2, modified=T0 + 1_000, total="99.99")
    mixed = wh.ingest("r1", "transactions", page(changed, transaction(3), transaction(4)))
    tx = mixed.tables[TRANSACTIONS.staging]
    assert (tx.new, tx.updated, tx.unchanged) == (2, 1, 0)
    assert (mixed.new, mixed.updated, mixed.unchanged) == (6, 1, 2)  # t0002's items: unchanged, re-stamped
    assert "transactions" in wh._probing  # the next page probes ...
    after = wh.ingest("r1", "transactions", page(transaction(5)))
    assert (after.new, after.updated, after.unchanged) == (3, 0, 0)
    assert "transactions" not in wh._probing  # ... and one without a stored key ends that
    assert wh.row_counts()[TRANSACTIONS.staging] == 5 and wh.row_counts()[TRANSACTION_ITEMS.staging] == 10
    assert wh.sql("SELECT count(*) AS n FROM raw_pages").item() == 3  # the failed attempt left no page
    total = wh.sql(f"SELECT total_amount FROM {TRANSACTIONS.staging} WHERE transaction_id = 't0002'").item()
    assert total == Decimal("99.99")


def phones(w: Warehouse) -> dict[str, str]:
    return dict(w.staging_frame(CUSTOMERS).select("member_id", "phone").rows())


def test_merge_keeps_the_highest_modified_and_an_older_page_does_not_regress(wh):
    wh.ingest("r", "members", page(member(1, T0, primaryPhone="old"), member(2, T0)))
    counts = wh.ingest("r", "members", page(member(1, T0 + 10, primaryPhone="new")))
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 0)
    counts = wh.ingest("r", "members", page(member(1, T0 + 5, primaryPhone="middle"), member(2, T0 - 1, primaryPhone="older")))
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 2)
    assert phones(wh) == {"m0001": "new", "m0002": "555-0002"}
    # same modified, other values: the later ingest wins (a correction without a new timestamp)
    counts = wh.ingest("r", "members", page(member(1, T0 + 10, primaryPhone="corrected")))
    assert (counts.updated, phones(wh)["m0001"]) == (1, "corrected")
    # within one page the highest modified wins, whatever the order
    wh.ingest("r", "members", page(member(3, T0 + 2, primaryPhone="b"), member(3, T0 + 1, primaryPhone="a")))
    assert phones(wh)["m0003"] == "b"
    # ... and on a tie the later record in the page
    counts = wh.ingest("r", "members", page(member(4, T0, primaryPhone="first"), member(5, T0), member(4, T0, primaryPhone="second")))
    assert (counts.new, phones(wh)["m0004"]) == (2, "second")


def test_items_follow_their_parents_modified_even_when_unchanged(wh):
    wh.ingest("r", "transactions", page(transaction(1, T0)))
    # a newer parent with the same items: rows unchanged, but their ordering moves on ...
    newer = transaction(1, T0 + 100)
    counts = wh.ingest("r", "transactions", page(newer))
    assert counts.tables[TRANSACTION_ITEMS.staging].unchanged == 2
    # ... so an edit sent with an older timestamp afterwards cannot win
    stale = transaction(1, T0 + 50)
    stale["cart"]["items"][0]["quantity"] = 9
    wh.ingest("r", "transactions", page(stale))
    assert wh.staging_frame(TRANSACTION_ITEMS).get_column("quantity").to_list() == [Decimal(1), Decimal(2)]


def test_quarantine_is_stored_once_with_run_and_reason(wh):
    body = page(member(1), {"firstName": "no id", "modified": T0}, member(2) | {"loyaltyPoints": "many"})
    counts = wh.ingest("r1", "members", body)
    assert (counts.new, counts.quarantined) == (1, 2)
    again = wh.ingest("r2", "members", body)
    assert again.quarantined == 2
    q = wh.quarantine_frame()
    assert q.height == 2 and set(q.get_column("run_id")) == {"r1"}
    assert sorted(q.get_column("reason").to_list())[0].startswith("customers.loyalty_points: expected a number")
    assert wh.quarantine_frame("r2").is_empty()


def test_state_advances_with_the_page(wh):
    assert wh.state("members") is None
    wh.ingest("r", "members", page(member(1)), state_update={"watermark_ms": 100, "cursor": {"window": [1, 2]}})
    wh.ingest("r", "members", page(member(2)), state_update={"watermark_ms": 200})
    state = wh.state("members")
    assert (state["watermark_ms"], state["cursor"]) == (200, {"window": [1, 2]})
    wh.ingest("r", "members", page(), state_update={"cursor": None})
    assert wh.state("members")["cursor"] is None and wh.state("members")["watermark_ms"] == 200
    with pytest.raises(ConfigurationError, match="unknown state field"):
        wh.ingest("r", "members", page(), state_update={"watermark": 1})


def test_a_failed_page_leaves_nothing_behind(wh):
    wh.ingest("r", "members", page(member(1)), state_update={"watermark_ms": 1})
    before = snapshot(wh)
    pages_before = wh.sql("SELECT count(*) AS n FROM raw_pages").item()

    def boom() -> None:
        raise RuntimeError("disk full")

    wh._before_commit = boom
    with pytest.raises(RuntimeError):
        wh.ingest("r", "members", page(member(1, T0 + 1, primaryPhone="x"), member(2)), state_update={"watermark_ms": 2})
    wh._before_commit = None
    assert_same(snapshot(wh), before)
    assert wh.sql("SELECT count(*) AS n FROM raw_pages").item() == pages_before
    with pytest.raises(InputDataError):
        wh.ingest("r", "members", b"<html>bad gateway</html>", state_update={"watermark_ms": 3})
    assert_same(snapshot(wh), before)


def test_lookups_resolve_when_read_whatever_the_order_of_ingest(wh):
    wh.ingest("r", "transactions", page(transaction(1)))
    assert wh.staging_frame(TRANSACTIONS).select("shop_location", "staff_name").row(0) == (None, None)
    for entity, body in lookups():
        wh.ingest("r", entity, body)
    assert wh.staging_frame(TRANSACTIONS).select("shop_location", "staff_name").row(0) == ("Downtown", "Sam Budtender")
    products = wh.staging_frame("products")
    assert products.is_empty()
    # a renamed employee shows up on read, and changes the push context
    context = wh.context()
    seller = transaction(1)["sellerId"]
    wh.ingest("r", "employees", page({"id": seller, "firstName": "Samantha", "lastName": "Budtender"}))
    assert wh.staging_frame(TRANSACTIONS).get_column("staff_name").to_list() == ["Samantha Budtender"]
    assert wh.context() != context


def test_the_shop_time_zone_dates_members_when_known(wh):
    rec = member(1, lastVisitDate=1_761_793_355_390)  # 2025-10-30T03:02:35Z
    wh.ingest("r", "members", page(rec))
    assert wh.timezone == "America/Los_Angeles"  # the fallback
    assert str(wh.staging_frame(CUSTOMERS).get_column("last_visited")[0]) == "2025-10-29"
    wh.ingest("r", "store", json.dumps({"shop": {"id": "s", "name": "East", "timeZone": "America/New_York"}}).encode())
    assert wh.timezone == "America/New_York"
    assert str(wh.staging_frame(CUSTOMERS).get_column("last_visited")[0]) == "2025-10-29"
    wh.ingest("r", "store", json.dumps({"shop": {"id": "s", "name": "East", "timeZone": "Europe/Berlin"}}).encode())
    assert str(wh.staging_frame(CUSTOMERS).get_column("last_visited")[0]) == "2025-10-30"


def test_runs_are_recorded(wh):
    wh.start_run("r1", "backfill", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    wh.finish_run("r1", "ok", calls=12, counts={"members": {"new": 3}})
    run = wh.runs().row(0, named=True)
    assert (run["run_id"], run["mode"], run["status"], run["calls"]) == ("r1", "backfill", "ok", 12)
    assert json.loads(run["counts"]) == {"members": {"new": 3}}


# --- replay ---------------------------------------------------------------------------------------


def test_replay_rebuilds_exactly_the_same_tables(wh):
    pages = history(6)
    ingest_all(wh, pages[: len(pages) // 2], "run-1")
    ingest_all(wh, pages[len(pages) // 2 :], "run-2")
    before = snapshot(wh)
    typed = {t.staging: wh.typed_frame(t) for t in TABLES}
    raw = wh.sql("SELECT count(*) AS n FROM raw_pages").item()
    counts = wh.replay()
    assert counts.pages == raw and counts.quarantined > 0
    assert_same(snapshot(wh), before)
    for t in TABLES:  # bookkeeping included: the same page wrote the same row at the same time
        assert_frame_equal(wh.typed_frame(t), typed[t.staging])
    # as of the end of run-1: what run-1 alone had built
    with Warehouse.open(wh.path.parent / "run1.duckdb") as only_run1:
        ingest_all(only_run1, pages[: len(pages) // 2], "run-1")
        expected = snapshot(only_run1)
    wh.replay("run-1")
    assert_same(snapshot(wh), expected)
    with pytest.raises(ConfigurationError, match="no stored pages"):
        wh.replay("run-404")


def test_raw_pages_are_kept_compressed_once_per_content(wh):
    body = page(*[transaction(i) for i in range(20)])
    wh.ingest("r", "transactions", body, {"skip": 0})
    wh.ingest("r", "transactions", body, {"skip": 0})
    stored = wh.sql("SELECT count(*) AS n, sum(size) AS size, (SELECT sum(octet_length(data)) FROM raw_parts) AS packed "
                    "FROM raw_bodies").row(0, named=True)
    assert stored["n"] == 1 and stored["size"] == len(body) and stored["packed"] < len(body) / 10
    assert wh.sql("SELECT request FROM raw_pages").get_column("request").to_list() == ['{"skip": 0}'] * 2


def test_a_body_stored_by_an_earlier_run_or_a_failed_write_is_handled_by_what_the_file_holds(tmp_path):
    """The warehouse remembers which bodies are stored instead of looking each one up: what it
    remembers must be what the file holds, after a reopen and after a rolled-back write."""
    body, other = page(transaction(1)), page(transaction(2))
    with Warehouse.open(tmp_path / "w.duckdb") as w:
        w.ingest("r1", "transactions", body)
    with Warehouse.open(tmp_path / "w.duckdb") as w:
        w.ingest("r2", "transactions", body)  # stored by the earlier process: not stored again

        def fail() -> None:
            raise RuntimeError("disk gone")

        w._before_commit = fail
        with pytest.raises(RuntimeError):
            w.ingest("r2", "transactions", other)  # rolled back: its body is not stored ...
        w._before_commit = None
        w.ingest("r2", "transactions", other)  # ... so the next attempt stores it
        assert w.sql("SELECT count(*) AS n FROM raw_bodies").item() == 2
        assert w.sql("SELECT count(*) AS n FROM raw_pages").item() == 3
        assert w.raw_body(hashlib.sha256(other).hexdigest()) == other



def test_duckdb_memory_is_bounded_by_default_and_by_the_parameter(tmp_path):
    """DuckDB's own default (80% of RAM) kept every block a backfill wrote: 128 MB unless told."""
    setting = "SELECT value FROM duckdb_settings() WHERE name = $n"
    with Warehouse.open(tmp_path / "a.duckdb") as w:
        assert w.sql(setting, {"n": "memory_limit"}).item() == "122.0 MiB"
        assert w.sql(setting, {"n": "temp_directory"}).item() == f"{tmp_path / 'a.duckdb'}.tmp"  # spills beside the file
    with Warehouse.open(tmp_path / "a.duckdb", memory_limit="1GB") as w:
        assert w.sql(setting, {"n": "memory_limit"}).item() == "953.6 MiB"
        w.ingest("r", "transactions", page(*[transaction(i) for i in range(3)]), {"skip": 0})
        assert w.row_counts()[TRANSACTIONS.staging] == 3
    with Warehouse.open(tmp_path / "a.duckdb", memory_limit=None) as w:
        assert w.sql(setting, {"n": "memory_limit"}).item().endswith("GiB")  # 80% of this machine's RAM
    with pytest.raises(ConfigurationError, match="memory_limit"):
        Warehouse.open(tmp_path / "b.duckdb", memory_limit="lots; DROP TABLE x")


# --- damage and concurrency -----------------------------------------------------------------------

#: windows of the crash test's history (14 pages)
CRASH_HISTORY = 4
CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    from _sync_pages import history
    from blaze_workbook.sync.warehouse import Warehouse

    path, mode, crash_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wh = Warehouse.open(path)
    for i, (entity, body, state) in enumerate(history({n})):
        if i == crash_at:
            def hook():
                print("in-transaction", flush=True)
                time.sleep(60)
            wh._before_commit = hook
        wh.ingest("run-1", entity, body, {{"i": i}}, state)
        print("committed", i, flush=True)
    print("done", flush=True)
    """
)


def child(tmp_path: Path, db: Path, mode: str, crash_at: int = -1) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(here=str(HERE), n=CRASH_HISTORY))
    return subprocess.Popen(
        [sys.executable, str(script), str(db), mode, str(crash_at)], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )


def wait_for(proc: subprocess.Popen, marker: str) -> list[str]:
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line.strip())
        if line.startswith(marker):
            return lines
    raise AssertionError(f"child ended before {marker!r}: {lines}")


def test_a_file_held_by_another_process_raises_locked(tmp_path):
    db = tmp_path / "w.duckdb"
    Warehouse.open(db).close()
    holder = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", holder, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for(proc, "ready")
        with pytest.raises(LockedError, match="in use by another process"):
            Warehouse.open(db)
    finally:
        proc.kill()
        proc.wait()
    Warehouse.open(db).close()  # free again once the holder is gone


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_file_raises_a_clear_configuration_error(tmp_path, damage):
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as w:
        ingest_all(w, history(2))
    data = db.read_bytes()
    db.write_bytes(data[:5000] if damage == "truncated" else b"not a database" * 100)
    with pytest.raises(ConfigurationError, match="not a readable DuckDB database") as info:
        Warehouse.open(db)
    assert not isinstance(info.value, LockedError)


@pytest.mark.slow
def test_killed_mid_ingest_then_rerun_equals_an_uninterrupted_run(tmp_path):
    pages = history(CRASH_HISTORY)
    with Warehouse.open(tmp_path / "reference.duckdb") as ref:
        ingest_all(ref, pages)
        expected = snapshot(ref)

    db = tmp_path / "crashed.duckdb"
    crash_at = len(pages) // 2
    proc = child(tmp_path, db, "ingest", crash_at)
    wait_for(proc, "in-transaction")
    proc.send_signal(signal.SIGKILL)  # inside the transaction of page `crash_at`
    proc.wait()
    with Warehouse.open(db) as w:  # the whole page or nothing: here nothing
        assert w.sql("SELECT max(page_id) AS n FROM raw_pages").item() == crash_at
        partial = Warehouse.open(tmp_path / "partial.duckdb")
        ingest_all(partial, pages[:crash_at])
        assert_same(snapshot(w), snapshot(partial))
        partial.close()

    # killed again at an arbitrary moment (between or inside transactions), then run to the end
    proc = child(tmp_path, db, "ingest")
    wait_for(proc, "committed 3")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc = child(tmp_path, db, "ingest")
    assert wait_for(proc, "done")[-1] == "done"
    proc.wait()
    with Warehouse.open(db) as w:
        assert_same(snapshot(w), expected)


def test_a_warehouse_from_before_the_shop_opening_gains_the_column_and_replay_fills_it(tmp_path):
    import duckdb

    db = tmp_path / "old.duckdb"
    with Warehouse.open(db) as w:
        w.ingest("r", "store", b'{"shop": {"id": "s1", "name": "Downtown", "timeZone": "America/Denver", "created": 1561000000000}}')
    con = duckdb.connect(str(db))  # as an older build left it: no opened_ms
    con.execute("ALTER TABLE lookups DROP COLUMN opened_ms")
    con.close()
    with Warehouse.open(db) as w:
        assert w.shop_opened_ms is None and w.timezone == "America/Denver"
        w.replay()
        assert w.shop_opened_ms == 1_561_000_000_000


def test_a_write_over_the_memory_cap_runs_again_with_a_larger_cap_and_stores_once(tmp_path, caplog):
    """Primary-key indexes cannot spill: a shop whose keys outgrow the cap costs memory, not a failed sync.

    The cap here is absurdly small so that a page of 300 transactions outgrows it; the reads are
    checked with a roomy cap (reads spill; a 4 MB cap fails them too, a 256 MB one does not)."""
    setting = "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'"
    body = page(*[transaction(i) for i in range(300)])
    with Warehouse.open(tmp_path / "roomy.duckdb", memory_limit="1GB") as roomy:
        roomy.ingest("r", "transactions", body, {"skip": 0})
        want = {t.staging: roomy.staging_frame(t) for t in TABLES}

    def same(path):
        with Warehouse.open(path, memory_limit="1GB") as w:
            assert w.sql("SELECT count(*) FROM raw_pages").item() == 1  # the rolled-back tries left nothing
            for t in TABLES:
                assert_frame_equal(w.staging_frame(t), want[t.staging])

    with caplog.at_level("WARNING", logger="blaze_workbook.sync"), Warehouse.open(tmp_path / "a.duckdb", memory_limit="512KB") as w:
        counts = w.ingest("r", "transactions", body, {"skip": 0})
        assert counts.tables[TRANSACTIONS.staging].new == 300 and counts.page_id == 1
        assert w.sql(setting).item() != "500.0 KiB" and "DuckDB's cap is now" in caplog.text
    same(tmp_path / "a.duckdb")
    with Warehouse.open(tmp_path / "a.duckdb", memory_limit="512KB") as w:  # a replay too
        assert w.replay().tables[TRANSACTIONS.staging] == 300
    same(tmp_path / "a.duckdb")


def test_memory_sizes_read_as_duckdb_reads_them_and_the_cap_stops_at_duckdbs_default():
    import duckdb

    from blaze_workbook.sync import _memory

    assert _memory.size_bytes("256MB") == 256_000_000 and _memory.size_bytes(" 1.5 GiB") == 3 * 2**29
    with pytest.raises(ValueError):
        _memory.size_bytes("lots")
    con = duckdb.connect()
    assert _memory.raise_cap(con, None) is None and _memory.raise_cap(con, _memory.ceiling_bytes()) is None
    assert _memory.raise_cap(con, 100 * 2**20) == 200 * 2**20
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "200.0 MiB"
