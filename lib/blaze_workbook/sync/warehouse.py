"""The DuckDB warehouse: raw pages as fetched, typed tables merged from them, sync state.

One file under the workbook home holds everything a sync knows, so the sync can be stopped at
any moment and resumed, and rebuilt without a single API call:

- ``raw_pages`` logs every ingested page (run, entity, request, fetch time, state update);
  its body is kept once per content in ``raw_bodies``, zstd-compressed, its bytes cut into
  ``raw_parts`` (:mod:`._bodies`);
- one typed table per staging table (same name and columns, plus bookkeeping), merged by key
  keeping the row with the highest ``modified`` (:mod:`._merge`);
- ``lookups`` (employees, terminals, vendors, categories, brands, shop), ``quarantine``,
  ``state`` (watermark and window cursor per entity), ``runs`` and ``pushed`` (per staging
  table and target database, the last pushed version, see :mod:`.push`).

:meth:`Warehouse.ingest` stores the page, merges it, quarantines what must be and advances the
state in one DuckDB transaction: a crash leaves the whole page or nothing. Every derived table
is a function of the raw pages in order, so :meth:`Warehouse.replay` rebuilds them exactly.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import zstandard

from ..config import workbook_home
from ..errors import ConfigurationError
from ..mapping import TABLES, Table, table as mapped_table
from ..redact import redact
from . import _bodies, _memory
from ._ddl import DAMAGED, DERIVED_TABLES, SCHEMA, add_missing_columns, check_length, compared_columns, create_typed, open_error, q
from ._merge import classify, counts, split_writes, stamped
from ._schema import LOOKUP_ENTITIES, check_entity
from ._types import check_timezone
from .decode import DecodedPage, decode_page, frame_schema, resolve, shop_timezone

_T = TypeVar("_T")

#: the file's name under the workbook home
FILE_NAME = "warehouse.duckdb"
#: the time zone used when the shop's is not known yet (``shop_timezone_fallback``)
DEFAULT_TIMEZONE = "America/Los_Angeles"
_STATE_KEYS = frozenset({"watermark_ms", "cursor"})
#: level 1: a transaction page compresses ~30x either way, level 1 is the cheaper
_ZSTD_LEVEL = 1
#: bodies up to this size (empty pages, checkpoints) keep their decoded form for reuse
_SMALL_BODY = 512
#: DuckDB's buffer pool cap. Without one DuckDB keeps every table block it reads or writes
#: (its default cap is 80% of RAM): 451 MB of them at the end of a seed backfill, whose peak RSS
#: was then 1,060 MB; with 256 MB, 788 MB. A cap of 256 MB once killed a seed backfill in its
#: automatic checkpoint ("failed to pin block", FATAL): all raw bodies then sat in one row group
#: that each checkpoint rewrote pinned; in parts (:mod:`._bodies`) a checkpoint pins little.
#: 128 MB, not 256: DuckDB held 156 MB of table blocks at the end of a one-year seed backfill;
#: with 128 MB peak RSS went from 721 to 590 MB in the same time and CPU (bench/README, eighth
#: round). A write that needs more raises the cap (:mod:`._memory`).
DEFAULT_MEMORY_LIMIT: str | None = "128MB"


@dataclass(frozen=True)
class TableCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: TableCounts) -> TableCounts:
        return TableCounts(self.new + other.new, self.updated + other.updated, self.unchanged + other.unchanged)


@dataclass(frozen=True)
class IngestCounts:
    """What one page did: rows per outcome (over all its tables), quarantined records, drift."""

    page_id: int
    records: int
    new: int
    updated: int
    unchanged: int
    quarantined: int
    tables: dict[str, TableCounts] = field(default_factory=dict)
    drift: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayCounts:
    pages: int
    tables: dict[str, int]
    quarantined: int


def default_path() -> Path:
    return workbook_home() / FILE_NAME


def _now() -> datetime:
    return datetime.now(UTC)


_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    """This thread's compressor (a ``ZstdCompressor`` must not be shared between threads)."""
    zstd = getattr(_local, "zstd", None)
    if zstd is None:
        zstd = _local.zstd = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    return zstd


@dataclass(frozen=True, repr=False)
class Prepared:
    """A page ready to store (:meth:`Warehouse.prepare`): decoded in the shop's time zone as
    known then, hashed, and compressed unless its content is stored already."""

    entity: str
    body: bytes
    sha: str
    compressed: bytes | None
    check_fields: bool
    timezone: str
    decoded: DecodedPage

    def __repr__(self) -> str:
        return f"Prepared({self.entity}, {len(self.body)} bytes, {self.decoded.count} records)"


class Warehouse:
    """One open warehouse file. Hold it for the length of a run: it holds the file's lock."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, timezone_fallback: str, memory_cap: int | None = None) -> None:
        self._con = con
        #: DuckDB's memory cap in bytes (None: DuckDB's default), raised when a write needs more
        self._memory_cap = memory_cap
        self._in_transaction = False
        self.path = path
        self.timezone_fallback = timezone_fallback
        self._lock = threading.RLock()
        #: look-ups as last read; dropped whenever a transaction wrote look-ups
        self._lookups: dict[str, pl.DataFrame] | None = None
        self._touches_lookups = False
        #: test hook: called inside the ingest transaction, just before COMMIT
        self._before_commit: Callable[[], None] | None = None
        #: the next page id, known once read (the file lock makes this connection the only writer)
        self._next_page: int | None = None
        #: content hashes of the stored (committed) bodies, read at the first ingest: a body
        #: already stored is neither compressed nor looked up again
        self._stored: set[str] | None = None
        #: entities whose ``state`` row exists (as of this transaction): updated in place, not upserted
        self._state_rows: set[str] = set()
        #: entities whose last page held a stored key: their next page probes the keys first
        #: instead of inserting as new (see :meth:`_apply`)
        self._probing: set[str] = set()
        #: small pages (empty pages, checkpoints) decode the same every time: decoded once
        self._small_decoded: dict[tuple[str, bytes, str, bool], DecodedPage] = {}

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None, *, timezone_fallback: str = DEFAULT_TIMEZONE,
             memory_limit: str | None = DEFAULT_MEMORY_LIMIT) -> Warehouse:
        """Open (creating if needed) the warehouse at ``path`` (default under the workbook home).

        ``memory_limit``: DuckDB's buffer pool, such as ``"128MB"`` (the default) or ``"2GB"``
        (``None``: DuckDB's default, 80% of RAM); it bounds DuckDB's share of the process's
        memory (what exceeds it spills to a temporary directory beside the file).

        Raises :class:`LockedError` when another process has it open and
        :class:`ConfigurationError` when the file is not a readable DuckDB database.
        """
        check_timezone(timezone_fallback)
        try:
            memory_cap = None if memory_limit is None else _memory.size_bytes(memory_limit)
        except ValueError:
            raise ConfigurationError(f"memory_limit must be a size such as '256MB' or '2GB', not {memory_limit!r}") from None
        path = Path(path) if path is not None else default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        try:
            # small row groups: a checkpoint rewrites a table's last row group whole (_bodies.py)
            con.execute(f"ATTACH $path AS warehouse (ROW_GROUP_SIZE {_bodies.ROW_GROUP_SIZE})", {"path": str(path)})
            con.execute("USE warehouse")
        except duckdb.Error as exc:
            con.close()
            raise open_error(path, exc) from exc
        try:
            check_length(con, path)
            con.execute("SET TimeZone = 'UTC'")
            # beside the file, as DuckDB puts it for a database opened directly (attached: './.tmp')
            con.execute("SET temp_directory = $d", {"d": f"{path}.tmp"})
            if memory_limit is not None:
                con.execute(f"SET memory_limit = '{memory_limit.strip()}'")
            for statement in SCHEMA:
                con.execute(statement)
            for t in TABLES:
                con.execute(create_typed(t))
                add_missing_columns(con, t)
        except DAMAGED as exc:
            con.close()
            raise open_error(path, exc) from exc
        return cls(con, path, timezone_fallback, memory_cap)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    # --- reading ---------------------------------------------------------------------------

    def sql(self, query: str, params: Mapping[str, Any] | list[Any] | None = None) -> pl.DataFrame:
        """A read query's result as a polars frame (for status pages and tests)."""
        with self._lock:
            return self._with_room(lambda: self._con.sql(query, params=params).pl())

    def lookups(self) -> dict[str, pl.DataFrame]:
        """Look-up table name -> ``id, name, time_zone, opened_ms`` (the shop: in the order it was seen)."""
        with self._lock:
            if self._lookups is None:
                frame = self.sql("SELECT lookup, id, name, time_zone, opened_ms FROM lookups ORDER BY lookup, _version, id")
                self._lookups = {
                    name: frame.filter(pl.col("lookup") == name).drop("lookup")
                    for name in frame.get_column("lookup").unique().to_list()
                }
            return dict(self._lookups)

    @property
    def timezone(self) -> str:
        """The shop's time zone when ``/store`` was ingested, else the fallback."""
        return shop_timezone(self.lookups(), self.timezone_fallback)

    @property
    def shop_opened_ms(self) -> int | None:
        """When the shop was created (``/store``'s ``created``, epoch ms), if it was read."""
        shop = self.lookups().get("shop")
        if shop is None or shop.height == 0:
            return None
        return shop.get_column("opened_ms").min()

    def typed_frame(self, table: Table | str) -> pl.DataFrame:
        """The typed table as stored (bookkeeping columns included, look-ups unresolved)."""
        t = table if isinstance(table, Table) else mapped_table(table)
        return self.sql(f"SELECT * FROM {q(t.staging)} ORDER BY {q(t.key)}")

    def staging_frame(self, table: Table | str, *, since_version: int | None = None) -> pl.DataFrame:
        """Rows exactly as the Postgres staging table should hold them (look-ups resolved).

        ``since_version``: only rows whose values changed after that page (for the push).
        """
        t = table if isinstance(table, Table) else mapped_table(table)
        with self._lock:
            where = "" if since_version is None else " WHERE _version > $v"
            typed = self.sql(
                f"SELECT * FROM {q(t.staging)}{where} ORDER BY {q(t.key)}",
                {} if since_version is None else {"v": since_version},
            )
            resolved = resolve(typed, t, self.lookups(), self.timezone)
        return resolved.select(c.name for c in t.columns)

    def quarantine_frame(self, run_id: str | None = None) -> pl.DataFrame:
        where = "" if run_id is None else " WHERE run_id = $run"
        return self.sql(f"SELECT * FROM quarantine{where} ORDER BY \"at\", entity, record_id", {"run": run_id} if run_id else None)

    def raw_body(self, sha256: str) -> bytes:
        """A stored page body (``raw_pages.sha256``), decompressed; ``KeyError`` when unknown."""
        with self._lock:
            return _bodies.load(self._con, sha256)

    def state(self, entity: str) -> dict[str, Any] | None:
        """``{watermark_ms, cursor, updated_at}`` of ``entity``, or ``None`` before its first page."""
        rows = self.sql("SELECT watermark_ms, cursor, updated_at FROM state WHERE entity = $e", {"e": entity}).to_dicts()
        if not rows:
            return None
        row = rows[0]
        row["cursor"] = json.loads(row["cursor"]) if row["cursor"] is not None else None
        return row

    def states(self) -> pl.DataFrame:
        return self.sql("SELECT * FROM state ORDER BY entity")

    def row_counts(self) -> dict[str, int]:
        """Rows per typed (staging) table."""
        with self._lock:
            return {t.staging: self._con.execute(f"SELECT count(*) FROM {q(t.staging)}").fetchall()[0][0] for t in TABLES}

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, run_id: str, mode: str, *, started_at: datetime | None = None) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO runs (run_id, mode, started_at, status, calls) VALUES ($r, $m, $s, 'running', 0) "
                "ON CONFLICT (run_id) DO UPDATE SET mode = excluded.mode, status = 'running'",
                {"r": run_id, "m": mode, "s": started_at or _now()},
            )

    def finish_run(self, run_id: str, status: str, *, calls: int | None = None, counts: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO runs (run_id, status, ended_at, calls, counts) VALUES ($r, $st, $e, $c, $n) "
                "ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at, "
                "calls = coalesce(excluded.calls, runs.calls), counts = coalesce(excluded.counts, runs.counts)",
                {"r": run_id, "st": status, "e": _now(), "c": calls, "n": json.dumps(counts, default=str) if counts is not None else None},
            )

    def runs(self) -> pl.DataFrame:
        return self.sql("SELECT * FROM runs ORDER BY started_at NULLS LAST, run_id")

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._con
        con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield con
            if self._before_commit is not None:
                self._before_commit()
            con.execute("COMMIT")
        except BaseException:
            self._next_page = None
            self._stored = None
            self._state_rows.clear()
            con.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False
            self._lookups = None if self._touches_lookups else self._lookups
            self._touches_lookups = False

    def _with_room(self, write: Callable[[], _T]) -> _T:
        """Run ``write`` (one whole transaction, or a read) again with a larger DuckDB cap while it
        runs out of memory below DuckDB's own default (:mod:`._memory`). Inside a transaction the
        error goes up: DuckDB has aborted it, and the write around it is what runs again."""
        if self._in_transaction:
            return write()
        while True:
            try:
                return write()
            except duckdb.OutOfMemoryException:
                cap = _memory.raise_cap(self._con, self._memory_cap)
                if cap is None:
                    raise
                self._memory_cap = cap

    def prepare(self, entity: str, body: bytes, *, check_fields: bool = True) -> Prepared:
        """The half of :meth:`ingest` that needs no lock: the page decoded, hashed and compressed.

        Any thread may call it (a lane decodes its next page while it writes this one, see
        :mod:`.prepared`). A body that is not a Blaze page raises :class:`InputDataError`."""
        check_entity(entity)
        body = bytes(body)
        sha = hashlib.sha256(body).hexdigest()
        timezone = self._timezone_unlocked()
        decoded = self._decode(entity, body, check_fields, timezone)
        stored = self._stored
        compressed = None if stored is not None and sha in stored else _compressor().compress(body)
        return Prepared(entity, body, sha, compressed, check_fields, timezone, decoded)

    def ingest(
        self,
        run_id: str,
        entity: str,
        body: bytes | Prepared,
        request: Mapping[str, Any] | None = None,
        state_update: Mapping[str, Any] | None = None,
        *,
        fetched_at: datetime | None = None,
        check_fields: bool = True,
    ) -> IngestCounts:
        """Store one fetched page, merge it, quarantine what must be, advance ``entity``'s state.

        All in one transaction. ``body`` is the page's bytes or what :meth:`prepare` made of
        them. ``state_update`` may set ``watermark_ms`` and ``cursor`` (any JSON); keys left out
        keep their value. A body that is not a Blaze page raises :class:`InputDataError` and
        stores nothing. ``check_fields=False`` skips counting undeclared fields (see
        :func:`.decode.decode_page`).
        """
        check_entity(entity)
        _check_state_update(state_update)
        fetched_at = fetched_at or _now()
        page = body if isinstance(body, Prepared) else self.prepare(entity, body, check_fields=check_fields)
        if page.entity != entity:
            raise ValueError(f"a {page.entity} page cannot be ingested as {entity}")
        with self._lock:
            decoded = page.decoded
            if page.timezone != self.timezone:  # the shop's time zone arrived since: dates move
                decoded = self._decode(entity, page.body, page.check_fields, self.timezone)
            known = page.sha in self._stored_bodies()

            def write(assume_new: bool) -> IngestCounts:
                with self._transaction() as con:
                    page_id = self._next_page
                    if page_id is None:
                        page_id = con.execute("SELECT coalesce(max(page_id), 0) + 1 FROM raw_pages").fetchall()[0][0]
                    if not known:
                        compressed = page.compressed if page.compressed is not None else _compressor().compress(page.body)
                        _bodies.store(con, page.sha, len(page.body), compressed, page_id)
                    con.execute(
                        "INSERT INTO raw_pages VALUES ($p, $r, $e, $q, $f, $s, $u, $n, $k)",
                        {
                            "p": page_id, "r": run_id, "e": entity, "q": redact(json.dumps(request or {}, default=str, sort_keys=True)),
                            "f": fetched_at, "s": page.sha, "u": json.dumps(state_update) if state_update is not None else None,
                            "n": decoded.count, "k": decoded.quarantine.height,
                        },
                    )
                    counts = self._apply(con, page_id, run_id, fetched_at, decoded, assume_new=assume_new)
                    if state_update is not None:
                        self._advance(con, entity, state_update, fetched_at)
                self._next_page = page_id + 1
                self._stored_bodies().add(page.sha)
                return counts

            # A backfill's keys are new: insert them as such, and let the primary key say when one
            # is not (the page is then written again, its keys probed first). Not inside an outer
            # transaction, which the failed insert would abort.
            if entity not in self._probing and entity not in LOOKUP_ENTITIES and not self._in_transaction:
                try:
                    return self._with_room(lambda: write(True))
                except duckdb.ConstraintException:
                    self._probing.add(entity)
            counts = self._with_room(lambda: write(False))
            if counts.updated + counts.unchanged == 0:
                self._probing.discard(entity)
            return counts

    def _stored_bodies(self) -> set[str]:
        """:attr:`_stored`, read from the file when not known (call under the lock)."""
        if self._stored is None:
            self._stored = {sha for (sha,) in self._con.execute("SELECT sha256 FROM raw_bodies").fetchall()}
        return self._stored

    def _timezone_unlocked(self) -> str:
        """:attr:`timezone` without waiting for the lock when the look-ups are read already
        (:meth:`ingest` checks it again under the lock)."""
        cached = self._lookups
        return shop_timezone(dict(cached), self.timezone_fallback) if cached is not None else self.timezone

    def _decode(self, entity: str, body: bytes, check_fields: bool, timezone: str) -> DecodedPage:
        if len(body) > _SMALL_BODY:
            return decode_page(entity, body, timezone=timezone, check_fields=check_fields)
        key = (entity, body, timezone, check_fields)
        decoded = self._small_decoded.get(key)
        if decoded is None:
            decoded = decode_page(entity, body, timezone=timezone, check_fields=check_fields)
            if len(self._small_decoded) >= 64:
                self._small_decoded.clear()
            self._small_decoded[key] = decoded
        return decoded

    def _apply(self, con: duckdb.DuckDBPyConnection, page_id: int, run_id: str, at: datetime, page: DecodedPage, *,
               assume_new: bool = False) -> IngestCounts:
        """Merge ``page`` into its tables. ``assume_new``: insert every record as new without
        probing the stored keys (a scan of the whole key column, which grows with the table:
        about 7.6 ms a page for the demo's 116 k items); a stored key then fails the insert on
        the primary key, and :meth:`ingest` writes the page again with ``assume_new=False``."""
        stamp = {"run_id": run_id, "seen_at": at, "version": page_id}
        tables: dict[str, TableCounts] = {}
        if page.count == 0:  # an empty page or a checkpoint: nothing to merge
            if page.entity in LOOKUP_ENTITIES:
                self._touches_lookups = True
                tables["lookups"] = TableCounts()
            else:
                tables = dict.fromkeys(page.frames, TableCounts())
            return IngestCounts(page_id, 0, 0, 0, 0, page.quarantine.height, tables, dict(page.drift))
        if page.entity in LOOKUP_ENTITIES:
            self._touches_lookups = True
            name = LOOKUP_ENTITIES[page.entity]
            frame = page.frames[name].unique(subset="id", keep="last", maintain_order=True).with_columns(pl.lit(0).alias("_modified_ms"))
            existing = _frame(
                con,
                "SELECT id, name, time_zone, opened_ms, 0::BIGINT AS _modified_ms, _run_id, _seen_at, _version FROM lookups "
                "WHERE lookup = $l AND id IN (SELECT unnest($keys))",
                {"l": name, "keys": frame.get_column("id").to_list()},
            )
            columns = ["id", "name", "time_zone", "opened_ms", "_modified_ms"]
            if existing.height == 0:  # every id is new: nothing to compare
                inserts, replaces, found = stamped(frame, columns, **stamp), None, {"new": frame.height}
            else:
                classified = classify(frame, existing, ["id"], ["name", "time_zone", "opened_ms"])
                inserts, replaces = split_writes(classified, columns, ["id"], **stamp)
                found = counts(classified)
            tag = pl.lit(name).alias("lookup")
            tables["lookups"] = self._store(
                con, "lookups", inserts.drop("_modified_ms").with_columns(tag),
                None if replaces is None else replaces.drop("_modified_ms").with_columns(tag), found,
            )
        else:
            for staging, frame in page.frames.items():
                t = mapped_table(staging)
                latest = _latest(frame, t.key)
                if assume_new:
                    existing = None
                else:
                    keys = {"keys": latest.get_column(t.key).to_list()}
                    # probe the key column first: reading every column of a growing table for keys
                    # that are mostly new costs more and more per page
                    known = con.execute(f"SELECT count(*) FROM {q(t.staging)} WHERE {q(t.key)} IN (SELECT unnest($keys))", keys).fetchall()[0][0]
                    existing = _frame(con, f"SELECT * FROM {q(t.staging)} WHERE {q(t.key)} IN (SELECT unnest($keys))", keys) if known else None
                columns = list(frame_schema(t))
                if existing is None:  # every key is new: nothing to compare
                    inserts, replaces, found = stamped(latest, columns, **stamp), None, {"new": latest.height}
                else:
                    classified = classify(latest, existing, [t.key], compared_columns(t))
                    inserts, replaces = split_writes(classified, columns, [t.key], **stamp)
                    found = counts(classified)
                tables[staging] = self._store(con, t.staging, inserts, replaces, found)
        if page.quarantine.height:
            con.register("_quarantine_in", page.quarantine.to_arrow())
            try:
                con.execute(
                    "INSERT INTO quarantine (run_id, entity, record_id, reason, payload, payload_sha256, \"at\") "
                    "SELECT DISTINCT ON (entity, sha256(payload), reason) $r, entity, record_id, reason, payload, "
                    "sha256(payload), $at FROM _quarantine_in ON CONFLICT DO NOTHING",
                    {"r": run_id, "at": at},
                )
            finally:
                con.unregister("_quarantine_in")
        total = sum(tables.values(), TableCounts())
        return IngestCounts(page_id, page.count, total.new, total.updated, total.unchanged, page.quarantine.height, tables, dict(page.drift))

    @staticmethod
    def _store(
        con: duckdb.DuckDBPyConnection, name: str, inserts: pl.DataFrame, replaces: pl.DataFrame | None, found: Mapping[str, int]
    ) -> TableCounts:
        """Write the merge's rows: keys not stored yet as plain inserts (cheaper than a replace),
        updated and touched rows replacing the stored ones."""
        for rows, verb in ((inserts, "INSERT"), (replaces, "INSERT OR REPLACE")):
            if rows is None or not rows.height:
                continue
            con.register("_writes", rows.to_arrow())
            # no finally: in the transaction a failed write aborts, unregistering fails too and would
            # hide the error (an out-of-memory one is run again, _with_room); the next register replaces it
            con.execute(f"{verb} INTO {q(name)} BY NAME SELECT * FROM _writes")
            con.unregister("_writes")
        return TableCounts(found.get("new", 0), found.get("updated", 0), found.get("unchanged", 0) + found.get("touched", 0))

    def _advance(self, con: duckdb.DuckDBPyConnection, entity: str, update: Mapping[str, Any], at: datetime) -> None:
        values = {"e": entity, "at": at, "w": update.get("watermark_ms"), "c": None if update.get("cursor") is None else json.dumps(update["cursor"], default=str)}
        if entity in self._state_rows:  # cheaper than an upsert, same outcome
            sets = ["updated_at = $at"]
            used = {"e": values["e"], "at": at}
            if "watermark_ms" in update:
                sets.append("watermark_ms = $w")
                used["w"] = values["w"]
            if "cursor" in update:
                sets.append("cursor = $c")
                used["c"] = values["c"]
            con.execute(f"UPDATE state SET {', '.join(sets)} WHERE entity = $e", used)
            return
        sets = ["updated_at = excluded.updated_at"]
        if "watermark_ms" in update:
            sets.append("watermark_ms = excluded.watermark_ms")
        if "cursor" in update:
            sets.append("cursor = excluded.cursor")
        con.execute(
            "INSERT INTO state (entity, watermark_ms, cursor, updated_at) VALUES ($e, $w, $c, $at) "
            f"ON CONFLICT (entity) DO UPDATE SET {', '.join(sets)}",
            values,
        )
        self._state_rows.add(entity)

    # --- replay ----------------------------------------------------------------------------

    def replay(self, run_id: str | None = None) -> ReplayCounts:
        """Rebuild typed tables, look-ups, quarantine and state from the stored raw pages only.

        ``run_id``: rebuild as of the end of that run (its pages and all earlier ones); default
        all pages. Zero API calls; uses the current mapping (typed tables are recreated), in
        one transaction.
        """
        with self._lock:
            last = None
            if run_id is not None:
                last = self._con.execute("SELECT max(page_id) FROM raw_pages WHERE run_id = $r", {"r": run_id}).fetchall()[0][0]
                if last is None:
                    known = self.sql("SELECT DISTINCT run_id FROM raw_pages ORDER BY run_id").get_column("run_id").to_list()
                    raise ConfigurationError(f"no stored pages for run {run_id!r}; runs with pages: {', '.join(known) or 'none'}")
            pages = self.sql(
                "SELECT page_id, run_id, entity, fetched_at, sha256, state_update FROM raw_pages"
                + ("" if last is None else " WHERE page_id <= $last")
                + " ORDER BY page_id",
                None if last is None else {"last": last},
            )

            def rebuild() -> ReplayCounts:
                decompressor = zstandard.ZstdDecompressor()
                tables: Counter[str] = Counter()
                quarantined = 0
                with self._transaction() as con:
                    self._touches_lookups = True
                    self._state_rows.clear()
                    for name in DERIVED_TABLES:
                        if name in {t.staging for t in TABLES}:
                            con.execute(f"DROP TABLE {q(name)}")
                        else:
                            con.execute(f"DELETE FROM {q(name)}")
                    # rebuilt rows keep their page as version, though their values may differ now:
                    # the next push sends everything
                    con.execute("DELETE FROM pushed")
                    for t in TABLES:
                        con.execute(create_typed(t))
                    for page in pages.iter_rows(named=True):
                        body = _bodies.load(con, page["sha256"], decompressor)
                        decoded = decode_page(page["entity"], body, timezone=self._timezone_in(con), check_fields=False)
                        counts = self._apply(con, page["page_id"], page["run_id"], page["fetched_at"], decoded)
                        quarantined += counts.quarantined
                        for name, c in counts.tables.items():
                            tables[name] += c.new + c.updated
                        if page["state_update"] is not None:
                            self._advance(con, page["entity"], json.loads(page["state_update"]), page["fetched_at"])
                return ReplayCounts(pages.height, dict(tables), quarantined)

            return self._with_room(rebuild)

    def _timezone_in(self, con: duckdb.DuckDBPyConnection) -> str:
        shop = con.sql("SELECT id, name, time_zone FROM lookups WHERE lookup = 'shop' ORDER BY _version, id").pl()
        return shop_timezone({"shop": shop}, self.timezone_fallback)

    # --- push bookkeeping ------------------------------------------------------------------

    def max_version(self, table: Table) -> int:
        with self._lock:
            return self._con.execute(f"SELECT coalesce(max(_version), 0) FROM {q(table.staging)}").fetchall()[0][0]

    def rows_up_to(self, table: Table, version: int) -> int:
        with self._lock:
            return self._con.execute(f"SELECT count(*) FROM {q(table.staging)} WHERE _version <= $v", {"v": version}).fetchall()[0][0]

    def context(self) -> str:
        """What resolved values depend on besides the rows: look-ups and the shop's time zone."""
        with self._lock:
            version = self._con.execute("SELECT coalesce(max(_version), 0) FROM lookups").fetchall()[0][0]
        return f"lookups={version};tz={self.timezone}"

    def push_marker(self, table: Table, target: str) -> tuple[int, str] | None:
        rows = self.sql("SELECT version, context FROM pushed WHERE staging = $s AND target = $t", {"s": table.staging, "t": target}).rows()
        return (rows[0][0], rows[0][1]) if rows else None

    def set_push_marker(self, table: Table, target: str, version: int, context: str) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO pushed VALUES ($s, $t, $v, $c, $at) ON CONFLICT (staging, target) DO UPDATE SET "
                "version = excluded.version, context = excluded.context, \"at\" = excluded.\"at\"",
                {"s": table.staging, "t": target, "v": version, "c": context, "at": _now()},
            )


def _latest(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per key: the highest ``_modified_ms``, the later row on a tie. A page rarely
    holds a key twice, and checking costs far less than the sort (four polars queries a page)."""
    if frame.get_column(key).n_unique() == frame.height:
        return frame
    return (
        frame.lazy()
        .with_row_index("__pos")
        .sort(["_modified_ms", "__pos"])
        .unique(subset=key, keep="last", maintain_order=True)
        .drop("__pos")
        .collect()
    )


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any]) -> pl.DataFrame:
    """A query's rows as a polars frame, through Arrow (several times cheaper than ``.pl()``)."""
    return pl.from_arrow(con.sql(query, params=params).to_arrow_table())  # type: ignore[return-value]


def _check_state_update(update: Mapping[str, Any] | None) -> None:
    if update is None:
        return
    unknown = set(update) - _STATE_KEYS
    if unknown:
        raise ConfigurationError(f"unknown state field(s) {sorted(unknown)}; valid: {sorted(_STATE_KEYS)}")
    mark = update.get("watermark_ms")
    if mark is not None and type(mark) is not int:
        raise ConfigurationError(f"watermark_ms must be epoch milliseconds (int), got {mark!r}")


__all__ = ["DEFAULT_MEMORY_LIMIT", "DEFAULT_TIMEZONE", "FILE_NAME", "IngestCounts", "Prepared", "ReplayCounts", "TableCounts", "Warehouse", "default_path"]
