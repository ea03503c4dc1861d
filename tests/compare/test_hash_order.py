"""Rows of 64-bit hashes in (hash, row) order by one sort of plain words."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from blaze_workbook.compare.hash_order import hash_order


def _spelled_out(hashes: list[int | None]) -> list[tuple[int, int]]:
    return sorted((h, row) for row, h in enumerate(hashes) if h is not None)


@given(st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 3), st.integers(0, 2**10))), max_size=80))
@settings(max_examples=300, deadline=None)
def test_hashes_sharing_their_high_bits_still_come_out_by_hash_then_row(values):
    """Hashes that differ only in the low bits the row number takes (and repeated ones)."""
    hashes = [None if v is None else (v[0] << 62) | v[1] for v in values]
    rows, ordered = hash_order(pl.Series(hashes, dtype=pl.UInt64))
    assert list(zip(ordered.tolist(), rows.tolist(), strict=True)) == _spelled_out(hashes)


def test_many_random_hashes_with_repeats_and_nulls():
    rng = np.random.default_rng(5)
    values = rng.integers(0, 2**63, 5_000, dtype=np.uint64) * np.uint64(2)
    values[rng.integers(0, 5_000, 500)] = values[rng.integers(0, 5_000, 500)]  # repeated hashes
    values[:100] = (values[0] & ~np.uint64(2**13 - 1)) | rng.permutation(100).astype(np.uint64)  # 100 hashes alike but in the row's bits
    hashes: list[int | None] = [int(v) for v in values]
    for i in rng.integers(0, 5_000, 50):
        hashes[int(i)] = None
    rows, ordered = hash_order(pl.Series(hashes, dtype=pl.UInt64))
    assert list(zip(ordered.tolist(), rows.tolist(), strict=True)) == _spelled_out(hashes)


def test_empty_and_all_null():
    for series in (pl.Series([], dtype=pl.UInt64), pl.Series([None, None], dtype=pl.UInt64)):
        rows, ordered = hash_order(series)
        assert len(rows) == len(ordered) == 0


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**7)), min_size=1, max_size=200))
@settings(max_examples=200, deadline=None)
def test_without_nulls_the_hashes_come_out_sorted_and_the_rows_by_hash_then_row(values):
    """No NULL (the path that sorts a copy of every hash): high bits shared, hashes repeated."""
    hashes = [(v[0] << 62) | v[1] for v in values]
    rows, ordered = hash_order(pl.Series(hashes, dtype=pl.UInt64))
    assert list(zip(ordered.tolist(), rows.tolist(), strict=True)) == _spelled_out(hashes)


def test_agrees_with_a_stable_argsort_on_a_million_hashes():
    rng = np.random.default_rng(11)
    values = rng.integers(0, 2**64 - 1, 1_000_000, dtype=np.uint64)
    values[rng.integers(0, 1_000_000, 50_000)] = values[rng.integers(0, 1_000_000, 50_000)]  # repeated hashes
    alike = rng.integers(0, 1_000_000, 2_000)  # hashes alike but in the row's bits
    values[alike] = (values[0] & ~np.uint64(2**20 - 1)) | rng.integers(0, 2**20, 2_000, dtype=np.uint64)
    rows, ordered = hash_order(pl.Series(values, dtype=pl.UInt64))
    expected = np.argsort(values, kind="stable")
    assert np.array_equal(rows, expected)
    assert np.array_equal(ordered, values[expected])
