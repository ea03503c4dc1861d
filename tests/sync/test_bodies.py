"""Raw page bodies in parts (sync/_bodies.py): stored once, read back whole, old warehouses read."""

from __future__ import annotations

import hashlib

import duckdb
import pytest
import zstandard

from _sync_pages import page, transaction
from blaze_workbook.mapping import TRANSACTIONS
from blaze_workbook.sync import Warehouse
from blaze_workbook.sync._bodies import PART_BYTES, ROW_GROUP_SIZE


@pytest.fixture()
def wh(tmp_path):
    with Warehouse.open(tmp_path / "warehouse.duckdb") as warehouse:
        yield warehouse


def _notes(n: int) -> list[dict]:
    # hex notes compress about 2x: the page's compressed body spans several parts
    return [transaction(i, items=1, memo=hashlib.sha256(str(i).encode()).hexdigest() * 8) for i in range(n)]


def test_a_body_is_cut_into_parts_and_read_back_whole(wh):
    body = page(*_notes(200))
    wh.ingest("r", "transactions", body, {"skip": 0})
    wh.ingest("r", "transactions", body, {"skip": 0})  # the same content again: no second copy
    parts = wh.sql("SELECT page_id, part, octet_length(data) AS n FROM raw_parts ORDER BY part")
    assert parts.height > 2 and parts.get_column("n").max() == PART_BYTES
    assert parts.get_column("part").to_list() == list(range(1, parts.height + 1))
    assert parts.get_column("page_id").unique().to_list() == [1]
    stored = wh.sql("SELECT count(*) AS n, count(body) AS inline, any_value(page_id) AS page_id FROM raw_bodies").row(0, named=True)
    assert stored == {"n": 1, "inline": 0, "page_id": 1}
    sha = wh.sql("SELECT DISTINCT sha256 FROM raw_pages").item()
    assert wh.raw_body(sha) == body
    with pytest.raises(KeyError):
        wh.raw_body("0" * 64)


def test_bodies_stored_inline_by_earlier_versions_are_read_and_replayed(tmp_path):
    """A warehouse from before the parts: ``body`` NOT NULL and inline, no ``page_id``."""
    path = tmp_path / "old.duckdb"
    old = page(*[transaction(i) for i in range(5)])
    sha = hashlib.sha256(old).hexdigest()
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE raw_bodies (sha256 VARCHAR PRIMARY KEY, codec VARCHAR NOT NULL, size BIGINT NOT NULL, body BLOB NOT NULL)")
    con.execute("INSERT INTO raw_bodies VALUES ($s, 'zstd', $n, $b)", {"s": sha, "n": len(old), "b": zstandard.ZstdCompressor().compress(old)})
    con.close()
    with Warehouse.open(path) as w:
        w._con.execute("INSERT INTO raw_pages VALUES (1, 'old-run', 'transactions', '{}', now(), $s, NULL, 5, 0)", {"s": sha})
        assert w.raw_body(sha) == old
        w.ingest("new-run", "transactions", page(*_notes(60)), {"skip": 0})  # stored in parts beside it
        w.replay()
        assert w.row_counts()[TRANSACTIONS.staging] == 60  # t0000..t0004 of the old page are among them
        assert w.sql("SELECT count(*) FROM raw_bodies WHERE body IS NULL").item() == 1


def test_the_warehouse_is_attached_with_small_row_groups(wh):
    """A checkpoint rewrites a table's last row group whole: it is kept small."""
    con = wh._con
    con.execute(f"CREATE TABLE scratch AS SELECT range AS i FROM range({ROW_GROUP_SIZE * 2 + 1})")
    con.execute("CHECKPOINT")
    groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('scratch')").fetchone()[0]
    assert groups == 3
