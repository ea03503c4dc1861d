"""DuckDB's memory cap, raised when a write needs more than it allows.

The warehouse runs DuckDB with a small cap (``warehouse.DEFAULT_MEMORY_LIMIT``) so that a
backfill's peak RSS stays low: table blocks beyond it spill to disk. The primary-key indexes that
``INSERT OR REPLACE`` needs cannot spill, and they grow with the shop: 1.5 M keys of 40 characters
do not fit in 256 MB ("Out of Memory Error: could not allocate block"). A write that hits the cap
is rolled back whole; :func:`raise_cap` doubles the cap (never past DuckDB's own default, 80 % of
RAM) and the warehouse runs the write again, so a large shop costs memory, not a failed sync.
"""

from __future__ import annotations

import logging
import os
import re

import duckdb

log = logging.getLogger("blaze_workbook.sync")

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def size_bytes(text: str) -> int:
    """``'256MB'`` -> 256,000,000 (DuckDB's reading: MB = 10^6 bytes, MiB = 2^20)."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def ceiling_bytes() -> int:
    """DuckDB's default cap: 80 % of the machine's RAM."""
    return int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def raise_cap(con: duckdb.DuckDBPyConnection, cap: int | None) -> int | None:
    """Double the cap of ``con`` (at most :func:`ceiling_bytes`); the new cap, or ``None`` when
    there was no cap or it is already at the ceiling (the write then fails as DuckDB said)."""
    if cap is None or cap >= ceiling_bytes():
        return None
    new = min(2 * cap, ceiling_bytes())
    con.execute(f"SET memory_limit = '{new // 1024}KiB'")
    log.warning("the warehouse needed more than %.1f MB of memory for one write; DuckDB's cap is now %.1f MB", cap / 1e6, new / 1e6)
    return new


__all__ = ["ceiling_bytes", "raise_cap", "size_bytes"]
