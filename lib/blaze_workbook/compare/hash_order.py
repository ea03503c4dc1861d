"""The rows of a column of 64-bit hashes in (hash, row) order, by one sort of plain words.

Pairing (:mod:`.pairing`) and the derived fields (:mod:`.derived`) both need the rows of tens of
millions of 64-bit key hashes ordered by hash, rows of one hash kept in row order. An argsort
does it (polars' took 10 s for 57 M Blaze item hashes at 100x; a stable sort of a (hash, row)
frame twice that and 2 GB); this sorts plain 64-bit words instead, several times faster:

- each word is a hash whose low ``bits`` are replaced by the row number (``bits``: what the
  largest row number needs), so sorting the words orders the rows by the hash's high bits, then
  by row; the row comes back from the low bits;
- where two *different* hashes share their high bits (a few hundred pairs among 57 M hashes),
  their rows may interleave: those runs alone are put in (hash, row) order apart. Rows of one
  repeated hash are in row order already;
- the hashes in that order are the hashes sorted: a second sort, of a copy of the hashes, run
  on another thread while the words sort (numpy releases the GIL while it sorts), instead of
  gathering each row's hash, whose every read misses the cache (57 M random hashes, quiet
  machine: words sort 1.5 s, then the gather 2.3-2.6 s; both sorts at once 2.3 s).

Arrays are reused in place where they can be: fresh memory costs page faults.
"""

from __future__ import annotations

import threading

import numpy as np
import polars as pl


def hash_order(hashes: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, sorted)``: the rows (int64) of the non-NULL ``hashes`` (UInt64) in (hash, row)
    order, and their hashes in that order. NULLs are left out."""
    n = hashes.len()
    present = n - hashes.null_count()
    full = (hashes.fill_null(0) if present < n else hashes).rechunk().to_numpy()
    bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    if present < n:
        kept = np.flatnonzero(hashes.is_not_null().to_numpy()).astype(np.uint64)
        h = full[kept]  # ascending rows: read in order
        words = h & ~low
        words |= kept
        del kept
    else:
        h = full.copy()
        words = full & ~low
        words |= np.arange(n, dtype=np.uint64)
    sorter = threading.Thread(target=h.sort)  # the hashes in (hash, row) order: sorted
    sorter.start()
    try:
        words.sort()
    finally:
        sorter.join()
    rows = (words & low).view(np.int64)
    high = words
    high >>= np.uint64(bits)  # in place: the words are not needed any more
    mixed = np.flatnonzero((high[1:] == high[:-1]) & (h[1:] != h[:-1]))  # a run of high bits holding different hashes
    if len(mixed):
        values = np.unique(high[mixed])
        lo, hi = np.searchsorted(high, values, side="left"), np.searchsorted(high, values, side="right")
        lengths = hi - lo
        at = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        # such a run holds the same hashes in both orders (all those with its high bits), so
        # ``h`` is right there already; its rows are put in (hash, row) order
        rows[at] = rows[at][np.lexsort((rows[at], full[rows[at]]))]
    return rows, h


__all__ = ["hash_order"]
