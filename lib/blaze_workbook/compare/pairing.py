"""Which existing row meets which Blaze row: keys, positions for repeated keys, integrity.

Matching keys are CONTRACTS.md §4's (:func:`blaze_workbook.setup_sql.match_key`). A key that
repeats on one side (the same product twice in one transaction) pairs by position: the n-th row
with that key on one side meets the n-th on the other, in the frame's row order. A row with a
NULL in its key never matches.

How, fast: each side's key (one or two columns) is hashed to 64 bits; each side is sorted by hash (stably, so row order survives within a key), which numbers
repeated keys in one linear pass; the sorted sides meet in a merge join (polars' fast path for
sorted keys), and a second, independent 64-bit hash confirms every pair. Should that check ever
fail (a hash collision), the same is done on the key text instead. Only matched rows are
assembled; the unmatched ones are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..mapping import CUSTOMERS, TRANSACTION_ITEMS, TRANSACTIONS, Table
from ..setup_sql import match_key

KEY = "_key"
HASH = "_hash"
CHECK = "_check"
POS = "_pos"
_ROW = "_row"
_SEED, _CHECK_SEED = 0x5EED, 0xC0FFEE
#: child table -> (reference column, parent table, parent key), staging names
PARENTS: dict[str, tuple[str, str, str]] = {
    TRANSACTIONS.legacy: ("customer_id", CUSTOMERS.legacy, CUSTOMERS.key),
    TRANSACTION_ITEMS.legacy: ("transaction_id", TRANSACTIONS.legacy, TRANSACTIONS.key),
}


def keys(t: Table) -> tuple[str, ...]:
    """The match key of ``t``, in staging column names."""
    return match_key(t)


def legacy_name(t: Table, staging_column: str) -> str:
    """The existing table's name for a staging column (the key maps to ``legacy_key``)."""
    return t.legacy_key if staging_column == t.key else (t.column(staging_column).legacy or staging_column)


def key_columns(n: int) -> list[str]:
    """The names the key columns take in a side frame."""
    return [f"{KEY}{i}" for i in range(n)]


def side(frame: pl.DataFrame | pl.LazyFrame, key_sources: list[str], columns: dict[str, str]) -> pl.DataFrame | pl.LazyFrame:
    """The key columns (as text, renamed ``_key0``…), two independent hashes of the key, the fields.

    A NULL in any key column makes the hashes NULL: never matched. A frame in memory gives a
    frame sharing its columns (no copy, one chunk each, as :func:`assemble` wants); a lazy frame
    gives the plan.
    """
    names = key_columns(len(key_sources))
    present = pl.all_horizontal(*(pl.col(k).is_not_null() for k in names))
    combined = pl.col(names[0]) if len(names) == 1 else pl.struct(names)
    hashes = (pl.when(present).then(combined.hash(_SEED)).alias(HASH), pl.when(present).then(combined.hash(_CHECK_SEED)).alias(CHECK))
    if isinstance(frame, pl.DataFrame):
        base = pl.DataFrame(
            [frame.get_column(src).cast(pl.String).alias(k) for src, k in zip(key_sources, names, strict=True)]
            + [frame.get_column(src).alias(dst) for src, dst in columns.items()]
        ).rechunk()
        return pl.concat([base, base.select(hashes).rechunk()], how="horizontal")
    return frame.select(
        *(pl.col(src).cast(pl.String).alias(k) for src, k in zip(key_sources, names, strict=True)),
        *(pl.col(src).alias(dst) for src, dst in columns.items()),
    ).with_columns(hashes)


def _keys_of(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(KEY) and c[len(KEY) :].isdigit()]


@dataclass(frozen=True)
class KeyStats:
    """One side's key health: repeated keys, rows holding them, rows with a NULL key."""

    keys: int
    rows: int
    null_keys: int


@dataclass(frozen=True)
class Pairing:
    """Which rows matched: existing row numbers (ascending), their Blaze rows and positions."""

    existing_rows: np.ndarray
    blaze_rows: np.ndarray
    positions: np.ndarray
    rows_existing: int
    rows_blaze: int
    existing: KeyStats
    blaze: KeyStats

    @property
    def matched(self) -> int:
        return len(self.existing_rows)


def _numbered(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """``by`` and the row number of each non-NULL key, sorted by ``by`` then row; ``_pos`` within a key."""
    run = pl.int_range(pl.len(), dtype=pl.UInt32)
    changed = pl.any_horizontal(*((pl.col(c) != pl.col(c).shift(1)).fill_null(True) for c in by))
    return (
        frame.select(*by, pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW))
        .filter(pl.all_horizontal(*(pl.col(c).is_not_null() for c in by)))
        .sort(by, maintain_order=True)
        .with_columns((run - pl.when(changed).then(run).forward_fill()).alias(POS))
    )


def _stats(numbered: pl.DataFrame, rows: int) -> KeyStats:
    first_repeats, later = numbered.select((pl.col(POS) == 1).sum().alias("a"), (pl.col(POS) >= 1).sum().alias("b")).row(0)
    return KeyStats(keys=int(first_repeats), rows=int(first_repeats + later), null_keys=rows - numbered.height)


def _match(existing: pl.DataFrame, blaze: pl.DataFrame, by: list[str]) -> Pairing | None:
    """The pairing on ``by``; ``None`` when ``by`` is the hash and a pair's check hashes differ."""
    e_num, b_num = _numbered(existing, by), _numbered(blaze, by)
    pairs = e_num.join(b_num, on=by, how="inner", suffix="_b").filter(pl.col(POS) == pl.col(f"{POS}_b"))  # a merge join
    # put the pairs in the existing side's row order without sorting: each existing row pairs at
    # most once, so its Blaze row (and position) can be scattered into an array indexed by row
    n = existing.height
    e_rows = pairs.get_column(_ROW).to_numpy()
    blaze_row = np.full(n, -1, dtype=np.int64)
    blaze_row[e_rows] = pairs.get_column(f"{_ROW}_b").to_numpy()
    position = np.zeros(n, dtype=np.uint32)
    position[e_rows] = pairs.get_column(POS).to_numpy()
    found = blaze_row >= 0
    existing_rows, blaze_rows = np.flatnonzero(found), blaze_row[found]
    if by == [HASH]:
        checks = existing.get_column(CHECK).to_numpy()[existing_rows], blaze.get_column(CHECK).to_numpy()[blaze_rows]
        if not np.array_equal(*checks):
            return None
    return Pairing(existing_rows, blaze_rows, position[found], n, blaze.height, _stats(e_num, n), _stats(b_num, blaze.height))


def pair(existing: pl.DataFrame, blaze: pl.DataFrame) -> Pairing:
    """Pair ``existing`` with ``blaze`` (frames from :func:`side`) by key and position."""
    return _match(existing, blaze, [HASH]) or _match(existing, blaze, _keys_of(existing))  # type: ignore[return-value]


def assemble(existing: pl.DataFrame, blaze: pl.DataFrame, pairing: Pairing, start: int = 0, stop: int | None = None) -> pl.DataFrame:
    """Matched pairs ``start:stop`` as one frame: key, position, the existing and the Blaze fields.

    Both frames should be single-chunk (:meth:`polars.DataFrame.rechunk`): gathering from one
    chunk is several times faster.
    """
    part = slice(start, stop)
    left = existing.gather(pairing.existing_rows[part]).drop(HASH, CHECK)
    right = blaze.gather(pairing.blaze_rows[part]).drop(*_keys_of(blaze), HASH, CHECK)
    return pl.concat([left.with_columns(pl.Series(POS, pairing.positions[part])), right], how="horizontal")


def key_text(n_keys: int) -> pl.Expr:
    """The key as text for the discrepancy list: ``a``, ``a|b``, and ``a|b#n`` for the n-th pairing."""
    text = pl.concat_str(key_columns(n_keys), separator="|")
    return pl.when(pl.col(POS) > 0).then(pl.concat_str([text, pl.lit("#"), (pl.col(POS) + 1).cast(pl.String)])).otherwise(text)


def orphans(child: pl.LazyFrame, parent: pl.LazyFrame, *, child_ref: str, parent_key: str) -> pl.LazyFrame:
    """How many rows of ``child`` hold a (non-NULL) reference that is no key of ``parent``.

    Compared by 64-bit hash of the text: a reference whose hash matches no parent's cannot match
    its key; one that matched only through a collision would be missed (odds ~1e-12).
    """
    parents = parent.select(pl.col(parent_key).cast(pl.String).hash(_SEED).alias("_ref"))
    return (
        child.select(pl.col(child_ref).cast(pl.String).alias("_text"))
        .filter(pl.col("_text").is_not_null())
        .select(pl.col("_text").hash(_SEED).alias("_ref"))
        .join(parents, on="_ref", how="anti")
        .select(pl.len().alias("orphans"))
    )


__all__ = ["CHECK", "HASH", "KEY", "PARENTS", "POS", "KeyStats", "Pairing", "assemble", "key_columns", "key_text", "keys", "legacy_name", "orphans", "pair", "side"]
