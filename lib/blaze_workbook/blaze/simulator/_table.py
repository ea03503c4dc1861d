"""Compact columnar storage for the simulator: growable tables, sorted indexes and ids.

Records are held as numpy columns (numbers, codes, row references) and object columns (text);
JSON is rendered from them per page. A Blaze id is 24 hex characters: we keep it as two integers,
``hi`` (first 16 hex digits, uint64) and ``lo`` (last 8, uint32), so that ordering by id is a
numeric lexsort and ids cost 12 bytes each.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

M64 = (1 << 64) - 1


def id_str(hi: int, lo: int) -> str:
    """The 24-hex-char id of ``(hi, lo)``."""
    return f"{hi:016x}{lo:08x}"


#: suffixes of derived ids: like Mongo ObjectIds made in one go, they share the record's prefix
_SUFFIX = tuple(f"{(j * 0x9E3779 + 0x5A17C3) & 0xFFFFFF:06x}" for j in range(256))


def sub_id(base: str, j: int) -> str:
    """The ``j``-th derived id (tax tables, carts, payments...) of the record whose id is ``base``."""
    return base[:18] + _SUFFIX[j]


def parse_id(text: str) -> tuple[int, int] | None:
    """``(hi, lo)`` of a 24-hex-char id, ``None`` when ``text`` is not one."""
    if len(text) != 24:
        return None
    try:
        return int(text[:16], 16), int(text[16:], 16)
    except ValueError:
        return None


def new_ids(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random ids as (hi uint64, lo uint32) arrays."""
    hi = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
    lo = rng.integers(0, np.iinfo(np.uint32).max, size=n, dtype=np.uint32, endpoint=True)
    return hi, lo


def signed(hi: np.ndarray | int) -> np.ndarray | int:
    """uint64 -> int64 preserving order (flip the sign bit), so ids sort with int64 keys."""
    if isinstance(hi, (int, np.integer)):
        return int(hi) - (1 << 63)
    return (hi ^ np.uint64(1 << 63)).view(np.int64)


class Table:
    """Named numpy columns of equal length that can grow by appending rows (capacity doubling)."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        self.n = lengths.pop() if lengths else 0
        self._cols = dict(columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def __contains__(self, name: str) -> bool:
        return name in self._cols

    def __len__(self) -> int:
        return self.n

    @property
    def names(self) -> list[str]:
        return list(self._cols)

    def set(self, name: str, row: int, value: object) -> None:
        self._cols[name][row] = value

    def append(self, **values: object) -> int:
        """Add one row (every column must be given); returns its row number."""
        missing = set(self._cols) - set(values)
        if missing:
            raise ValueError(f"missing columns: {sorted(missing)}")
        row = self.n
        for name, arr in self._cols.items():
            if row >= len(arr):
                grown = np.empty(max(16, 2 * len(arr)), dtype=arr.dtype)
                grown[: len(arr)] = arr
                self._cols[name] = arr = grown
            arr[row] = values[name]
        self.n += 1
        return row

    def take(self, name: str, rows: np.ndarray) -> list:
        """Python values of column ``name`` at ``rows`` (one vectorised gather)."""
        return self._cols[name][rows].tolist()


def text_column(values: Iterable[object]) -> np.ndarray:
    """An object column (text or None) from any iterable."""
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


class SortedIndex:
    """Rows of a table kept in order of a composite int64 key ``(k1, k2, k3)``, ascending.

    Supports range selection on ``k1`` by binary search and moving or inserting one row in
    O(n) memory moves (no re-sort), which is what live events and touch faults need.
    """

    def __init__(self, k1: np.ndarray, k2: np.ndarray, k3: np.ndarray) -> None:
        order = np.lexsort((k3, k2, k1))
        self.order = order.astype(np.int64)
        self.k1 = np.ascontiguousarray(k1[order], dtype=np.int64)
        self.k2 = np.ascontiguousarray(k2[order], dtype=np.int64)
        self.k3 = np.ascontiguousarray(k3[order], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.order)

    def range(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        """Positions ``[a, b)`` of the rows with ``lo <= k1 <= hi`` (``None`` = open)."""
        a = 0 if lo is None else int(np.searchsorted(self.k1, lo, side="left"))
        b = len(self.k1) if hi is None else int(np.searchsorted(self.k1, hi, side="right"))
        return a, max(a, b)

    def _position(self, key: tuple[int, int, int]) -> int:
        a, b = self.range(key[0], key[0])
        while a < b and (int(self.k2[a]), int(self.k3[a])) < key[1:]:
            a += 1
        return a

    def remove(self, row: int, k1: int) -> None:
        a, b = self.range(k1, k1)
        hits = np.nonzero(self.order[a:b] == row)[0]
        if not len(hits):
            raise KeyError(row)
        p = a + int(hits[0])
        self.order = np.delete(self.order, p)
        self.k1, self.k2, self.k3 = (np.delete(k, p) for k in (self.k1, self.k2, self.k3))

    def insert(self, row: int, key: tuple[int, int, int]) -> None:
        p = self._position(key)
        self.order = np.insert(self.order, p, row)
        self.k1 = np.insert(self.k1, p, key[0])
        self.k2 = np.insert(self.k2, p, key[1])
        self.k3 = np.insert(self.k3, p, key[2])

    def move(self, row: int, old_k1: int, key: tuple[int, int, int]) -> None:
        self.remove(row, old_k1)
        self.insert(row, key)
