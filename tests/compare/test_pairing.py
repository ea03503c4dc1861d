"""Pairing repeated keys by position, and the key health counts."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from blaze_workbook.compare import pairing as P

SOURCES = ["transaction_id", "product_id"]


def keyed(frame: pl.DataFrame, **columns: str) -> pl.DataFrame:
    return P.side(frame.lazy(), SOURCES, columns).collect()


def matched(e: pl.DataFrame, b: pl.DataFrame) -> list[tuple]:
    return P.assemble(e, b, P.pair(e, b)).select(P.key_text(2), "e", "b").sort("e").rows()


def test_a_null_in_any_key_column_leaves_the_row_unhashed():
    frame = keyed(pl.DataFrame({"transaction_id": ["t1", "t1", None], "product_id": ["p1", None, "p1"]}))
    assert frame.columns == ["_key0", "_key1", P.HASH, P.CHECK]
    assert frame[P.HASH].null_count() == frame[P.CHECK].null_count() == 2
    assert frame[P.HASH][0] != frame[P.CHECK][0]


def test_unique_keys_pair_once():
    e = keyed(pl.DataFrame({"transaction_id": ["t1", "t2", "t3"], "product_id": ["p1", "p1", "p1"], "e": [1, 2, 3]}), e="e")
    b = keyed(pl.DataFrame({"transaction_id": ["t3", "t2", "t9"], "product_id": ["p1", "p1", "p1"], "b": [30, 20, 90]}), b="b")
    pg = P.pair(e, b)
    assert matched(e, b) == [("t2|p1", 2, 20), ("t3|p1", 3, 30)]
    assert (pg.rows_existing, pg.rows_blaze) == (3, 3)
    assert pg.existing == pg.blaze == P.KeyStats(keys=0, rows=0, null_keys=0)


def test_repeated_keys_pair_by_position_in_row_order():
    e = keyed(pl.DataFrame({"transaction_id": ["t1", "t2", "t1", "t1", None, None], "product_id": ["p1", "p1", "p1", "p2", "p1", "p1"], "e": range(6)}), e="e")
    b = keyed(pl.DataFrame({"transaction_id": ["t1", "t1", "t1", "t1"], "product_id": ["p2", "p1", "p1", "p1"], "b": [13, 10, 12, 14]}), b="b")
    pg = P.pair(e, b)
    assert matched(e, b) == [("t1|p1", 0, 10), ("t1|p1#2", 2, 12), ("t1|p2", 3, 13)]
    assert pg.existing == P.KeyStats(keys=1, rows=2, null_keys=2)  # NULL keys are not duplicates: they never match
    assert pg.blaze == P.KeyStats(keys=1, rows=3, null_keys=0)


def test_a_hash_collision_falls_back_to_the_key_columns():
    e = keyed(pl.DataFrame({"transaction_id": ["t1", "t2"], "product_id": ["p1", "p1"], "e": [1, 2]}), e="e")
    b = keyed(pl.DataFrame({"transaction_id": ["t1", "t3"], "product_id": ["p1", "p1"], "b": [10, 30]}), b="b")
    b = b.with_columns(pl.when(pl.col("b") == 30).then(e[P.HASH][1]).otherwise(pl.col(P.HASH)).alias(P.HASH))  # t3 collides with t2
    assert matched(e, b) == [("t1|p1", 1, 10)]


def test_empty_sides():
    e = keyed(pl.DataFrame({"transaction_id": [], "product_id": [], "e": []}, schema={"transaction_id": pl.String, "product_id": pl.String, "e": pl.Int64}), e="e")
    b = keyed(pl.DataFrame({"transaction_id": ["t1"], "product_id": ["p1"], "b": [1]}), b="b")
    pg = P.pair(e, b)
    assert pg.matched == 0 and (pg.rows_existing, pg.rows_blaze) == (0, 1)
    assert P.assemble(e, b, pg).columns == ["_key0", "_key1", "e", P.POS, "b"]


def test_assemble_in_slices_gives_the_same_rows():
    e = keyed(pl.DataFrame({"transaction_id": [f"t{i}" for i in range(10)], "product_id": ["p"] * 10, "e": range(10)}), e="e")
    b = keyed(pl.DataFrame({"transaction_id": [f"t{i}" for i in range(9, -1, -1)], "product_id": ["p"] * 10, "b": range(10)}), b="b")
    pg = P.pair(e, b)
    whole = P.assemble(e, b, pg)
    parts = pl.concat([P.assemble(e, b, pg, i, i + 3) for i in range(0, 10, 3)])
    assert parts.equals(whole) and whole["e"].to_list() == list(range(10)) and whole["b"].to_list() == list(range(9, -1, -1))


def test_when_every_hash_collides_the_key_columns_still_pair_by_position():
    e = keyed(pl.DataFrame({"transaction_id": ["t1", "t2", "t1", "t3"], "product_id": ["p1", "p1", "p1", None], "e": [1, 2, 3, 4]}), e="e")
    b = keyed(pl.DataFrame({"transaction_id": ["t2", "t1", "t1"], "product_id": ["p1", "p1", "p1"], "b": [20, 10, 30]}), b="b")
    same = pl.lit(7, dtype=pl.UInt64).alias(P.HASH)
    e, b = e.with_columns(pl.when(pl.col(P.HASH).is_not_null()).then(same)), b.with_columns(same)
    pg = P.pair(e, b)
    assert matched(e, b) == [("t1|p1", 1, 10), ("t2|p1", 2, 20), ("t1|p1#2", 3, 30)]
    assert pg.existing == P.KeyStats(keys=1, rows=2, null_keys=1)


@given(
    refs=st.lists(st.one_of(st.none(), st.integers(0, 40)), max_size=60),
    parents=st.lists(st.one_of(st.none(), st.integers(0, 40)), max_size=30),
)
@settings(max_examples=200, deadline=None)
def test_count_orphans_counts_every_reference_no_parent_holds(refs, parents):
    """Repeated references and parents, NULLs, references below and above every parent."""
    want = sum(1 for r in refs if r is not None and r not in set(parents))
    got = P.count_orphans(pl.Series(refs, dtype=pl.UInt64), pl.Series(parents, dtype=pl.UInt64))
    assert got == want


def _by_position(e_keys: list, b_keys: list) -> list[tuple[int, int, int]]:
    """The pairing spelled out: the n-th existing row of a key meets the n-th Blaze row of it."""
    seen: dict = {}
    b_rows: dict = {}
    for j, k in enumerate(b_keys):
        if k is not None:
            b_rows.setdefault(k, []).append(j)
    out = []
    for i, k in enumerate(e_keys):
        if k is None:
            continue
        n = seen[k] = seen.get(k, -1) + 1
        if n < len(b_rows.get(k, [])):
            out.append((i, b_rows[k][n], n))
    return out


@given(
    e_keys=st.lists(st.one_of(st.none(), st.integers(0, 12)), max_size=50),
    b_keys=st.lists(st.one_of(st.none(), st.integers(0, 12)), max_size=50),
)
@settings(max_examples=200, deadline=None)
def test_the_hash_merge_pairs_as_position_within_key_says(e_keys, b_keys):
    """Repeated keys on either side or both, NULL keys, keys on one side only: the sorted merge on
    the hashes gives the pairs (and key health) spelled out by hand and those of the key text."""
    def side(ks: list) -> pl.DataFrame:
        frame = pl.DataFrame({"transaction_id": [None if k is None else f"t{k}" for k in ks], "product_id": ["p"] * len(ks)}, schema={"transaction_id": pl.String, "product_id": pl.String})
        return P.keyed(frame, SOURCES, text=True).collect()

    e, b = side(e_keys), side(b_keys)
    by_hash, by_text = P.pair_hashes(e, b), P.pair_text(e, b)
    assert by_hash is not None
    assert list(zip(by_hash.existing_rows.tolist(), by_hash.blaze_rows.tolist(), by_hash.positions.tolist(), strict=True)) == _by_position(e_keys, b_keys)
    for got, want in ((by_hash.existing, by_text.existing), (by_hash.blaze, by_text.blaze)):
        assert got == want
    repeated = {k for k in set(e_keys) - {None} if e_keys.count(k) > 1}
    assert by_hash.existing == P.KeyStats(keys=len(repeated), rows=sum(e_keys.count(k) for k in repeated), null_keys=e_keys.count(None))


@given(st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 255))), max_size=60))
@settings(max_examples=200, deadline=None)
def test_sorted_runs_order_hashes_that_share_their_high_bits(values):
    """The sort orders words of (high bits of the hash, row): hashes differing only in the low
    bits the row takes (and repeated ones) still come out by (hash, row), each numbered within
    its hash, as a plain sort of the pairs says."""
    hashes = [None if v is None else (v[0] << 62) | v[1] for v in values]  # ties in every high bit but two
    ordered, stats = P._runs(pl.Series(hashes, dtype=pl.UInt64))
    want = sorted((h, row) for row, h in enumerate(hashes) if h is not None)
    assert ordered.select(P.HASH, "_row").rows() == want
    counts: dict[int, int] = {}
    expected_pos = []
    for h, _ in want:
        expected_pos.append(counts.get(h, 0))
        counts[h] = counts.get(h, 0) + 1
    assert ordered.get_column(P.POS).to_list() == expected_pos
    repeated = [c for c in counts.values() if c > 1]
    assert stats == P.KeyStats(keys=len(repeated), rows=sum(repeated), null_keys=hashes.count(None))
