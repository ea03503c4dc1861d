"""Raw page bodies as stored: zstd-compressed, cut into parts of at most :data:`PART_BYTES`.

Why parts: DuckDB rewrites a table's last row group whole at every checkpoint, automatic ones
included (one each 16 MiB of write-ahead log). With one row per body, every body of a warehouse
sat in one row group (a seed backfill stores ~2,500 of them, ~340 MB compressed), so each
checkpoint read all of them back and wrote them again: a backfill's peak RSS grew with the
warehouse (316 / 670 / 1,423 MB at tiny / demo / seed) and its checkpoint time with the square.
A body is now a row of ``raw_bodies`` without its bytes (``body`` NULL) and rows of
``raw_parts``; with the warehouse attached at :data:`ROW_GROUP_SIZE` rows per row group, a
checkpoint rewrites at most ``ROW_GROUP_SIZE * PART_BYTES`` (16 MiB) of bodies.

Parts are keyed by the page that first stored the body (``raw_bodies.page_id``): page ids grow
with every page, so DuckDB's per-row-group min/max finds a body's parts without an index. Bodies
stored by earlier versions (``body`` inline) are read as they are.
"""

from __future__ import annotations

import duckdb
import zstandard

#: rows per row group of the warehouse (DuckDB's smallest; its default is 122,880)
ROW_GROUP_SIZE = 2048
#: the largest part of a compressed body (a transaction page of ~4 MB compresses to ~130 KB)
PART_BYTES = 8192
CODEC = "zstd"


def store(con: duckdb.DuckDBPyConnection, sha256: str, size: int, compressed: bytes, page_id: int) -> None:
    """Store a body whose content is not stored yet (the warehouse keeps the stored hashes; a
    second body with the same hash breaks the primary key and fails the transaction).

    In the caller's transaction: the parts and the page that refers to them commit together."""
    con.execute("INSERT INTO raw_bodies (sha256, codec, size, body, page_id) VALUES ($s, $c, $n, NULL, $p)",
                {"s": sha256, "c": CODEC, "n": size, "p": page_id})
    parts = [compressed[k:k + PART_BYTES] for k in range(0, len(compressed), PART_BYTES)]
    con.execute(
        "INSERT INTO raw_parts SELECT $p, generate_subscripts($parts, 1), unnest($parts)",
        {"p": page_id, "parts": parts},
    )


def load(con: duckdb.DuckDBPyConnection, sha256: str, decompressor: zstandard.ZstdDecompressor | None = None) -> bytes:
    """The body with this content hash, decompressed (``KeyError`` when none is stored)."""
    rows = con.execute("SELECT codec, body, page_id FROM raw_bodies WHERE sha256 = $s", {"s": sha256}).fetchall()
    if not rows:
        raise KeyError(sha256)
    codec, body, page_id = rows[0]
    if body is None:
        parts = con.execute("SELECT data FROM raw_parts WHERE page_id = $p ORDER BY part", {"p": page_id}).fetchall()
        body = b"".join(part for (part,) in parts)
    return (decompressor or zstandard.ZstdDecompressor()).decompress(body) if codec == CODEC else bytes(body)


__all__ = ["CODEC", "PART_BYTES", "ROW_GROUP_SIZE", "load", "store"]
