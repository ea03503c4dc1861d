"""Push the warehouse's typed tables into the Postgres staging tables 01_setup created.

Per staging table, in one Postgres transaction with ``SET LOCAL lock_timeout``: COPY the rows
into a temporary table, then ``INSERT … ON CONFLICT (key) DO UPDATE … WHERE (target.*) IS
DISTINCT FROM (excluded.*)`` so a row is written only when something in it changed. A second
push of the same data changes nothing.

Only rows whose values changed since the last successful push to the same database are sent
(the warehouse keeps a marker per table and target). Everything is sent again when the marker is
missing, when look-ups or the shop's time zone changed (they feed resolved columns), or when the
target holds fewer rows than were pushed (someone emptied it). The marker moves only after
Postgres committed, so a failed push is simply repeated by the next one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import polars as pl
import psycopg
from psycopg import sql

from ..errors import ConfigurationError, DatabaseError, LockedError
from ..mapping import TABLES, Table, table as mapped_table
from .warehouse import Warehouse

#: rows per COPY chunk: bounds the CSV text held in memory at once
CHUNK_ROWS = 50_000
#: how long a push waits for a lock on a staging table before giving up (LockedError)
DEFAULT_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class PushCounts:
    """One table's push: rows sent, and what Postgres did with them."""

    sent: int
    inserted: int
    updated: int
    unchanged: int
    full: bool


def push(
    warehouse: Warehouse,
    conninfo: str | psycopg.Connection | None = None,
    *,
    tables: Iterable[str] | None = None,
    schema: str = "public",
    full: bool = False,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
) -> dict[str, PushCounts]:
    """Push every (or the named) staging table; staging table name -> :class:`PushCounts`.

    ``conninfo``: a connection string, an open psycopg connection (left open), or ``None`` for
    the workbook's database (``DATABASE_URL`` or the embedded Postgres). ``full`` sends every
    row. Raises :class:`DatabaseError` (unreachable, missing table) or
    :class:`LockedError`/:class:`RetryableError`; the warehouse keeps its data either way.
    """
    from .. import postgres  # SQLAlchemy comes with it: loaded only when pushing

    chosen = [mapped_table(name) for name in tables] if tables is not None else list(TABLES)
    owned = not isinstance(conninfo, psycopg.Connection)
    conn = postgres.connect(conninfo) if owned else conninfo  # type: ignore[arg-type]
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ConfigurationError(
            "push needs a connection without an open transaction (it commits one per table)",
            hint="commit or roll back first, or pass a connection string",
        )
    done: list[str] = []
    try:
        target = _target(conn, schema)
        out: dict[str, PushCounts] = {}
        for t in chosen:
            out[t.staging] = _push_table(warehouse, conn, t, schema, target, full=full, lock_timeout=lock_timeout)
            done.append(t.staging)
        return out
    except LockedError as exc:
        # one transaction per table: the tables pushed before this one stay committed
        kept = f"{', '.join(done)} committed, " if done else ""
        raise LockedError(exc.message, hint=f"{kept}the rest rolled back; the next run pushes what is left "
                          "(or raise lock_timeout)") from exc
    finally:
        if owned:
            conn.close()


def _target(conn: psycopg.Connection, schema: str) -> str:
    info = conn.info
    return f"{info.host}:{info.port}/{info.dbname}/{schema}"


def _push_table(
    wh: Warehouse, conn: psycopg.Connection, t: Table, schema: str, target: str, *, full: bool, lock_timeout: str
) -> PushCounts:
    from .. import postgres

    ident = sql.Identifier(schema, t.staging)
    context = wh.context()
    top = wh.max_version(t)
    marker = wh.push_marker(t, target)
    with postgres.translated(f"pushing {t.staging}"), conn.transaction():
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
        found = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s", (schema, t.staging)
        ).fetchall()
        if not found:
            raise DatabaseError(
                f"the staging table {schema}.{t.staging} does not exist",
                hint="create it with `blaze-workbook run setup -p apply=true`",
            )
        _check_columns(conn, t, schema)
        since: int | None = None
        if not full and marker is not None and marker[1] == context:
            have = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchall()[0][0]
            if have >= wh.rows_up_to(t, marker[0]):
                since = marker[0]
        frame = wh.staging_frame(t, since_version=since)
        inserted = updated = 0
        if frame.height:
            inserted, updated = _upsert(conn, t, ident, frame)
    wh.set_push_marker(t, target, top, context)
    return PushCounts(frame.height, inserted, updated, frame.height - inserted - updated, since is None)


#: the mapping's Postgres types as ``information_schema.columns.data_type`` spells them
_DATA_TYPES = {"text": "text", "numeric": "numeric", "boolean": "boolean", "date": "date",
               "timestamptz": "timestamp with time zone", "integer": "integer"}


def _check_columns(conn: psycopg.Connection, t: Table, schema: str) -> None:
    """A staging table edited by hand (a column dropped, a type changed) stops the push, named."""
    have = dict(conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (schema, t.staging)).fetchall())
    wrong = [f"{c.name} is {have.get(c.name, 'missing')}, the mapping wants {c.pg_type}"
             for c in t.columns if have.get(c.name) != _DATA_TYPES[c.pg_type]]
    if wrong:
        raise DatabaseError(
            f"the staging table {schema}.{t.staging} does not match the mapping: {'; '.join(wrong)}",
            hint="it was edited by hand: drop it (DROP TABLE … CASCADE) and run `blaze-workbook run setup -p apply=true` "
            "(01_setup) to create it again; the warehouse keeps every row and the next push sends them all",
        )


def _csv_chunks(frame: pl.DataFrame) -> Iterator[bytes]:
    """CSV Postgres reads back exactly: strings always quoted, NULL as an empty unquoted field."""
    for start in range(0, frame.height, CHUNK_ROWS):
        buffer = io.BytesIO()
        frame.slice(start, CHUNK_ROWS).write_csv(
            buffer, include_header=False, quote_style="non_numeric", datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z"
        )
        yield buffer.getvalue()


def _upsert(conn: psycopg.Connection, t: Table, ident: sql.Identifier, frame: pl.DataFrame) -> tuple[int, int]:
    tmp = sql.Identifier(f"_push_{t.staging}")
    names = [c.name for c in t.columns]
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(tmp, ident))
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(tmp, cols)) as copy:
        for chunk in _csv_chunks(frame.select(names)):
            copy.write(chunk)
    # numeric as sent: the frame's fixed scale (69.120000) becomes 69.12 again
    trim = conn.info.server_version >= 130000
    values = sql.SQL(", ").join(
        sql.SQL("trim_scale({})").format(sql.Identifier(c.name)) if trim and c.pg_type == "numeric" else sql.Identifier(c.name)
        for c in t.columns
    )
    others = [n for n in names if n != t.key]
    query = sql.SQL(
        "WITH up AS (INSERT INTO {target} AS t ({cols}) SELECT {values} FROM {tmp} "
        "ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new}) "
        "RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
    ).format(
        target=ident,
        cols=cols,
        values=values,
        tmp=tmp,
        key=sql.Identifier(t.key),
        sets=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in others),
        old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in others),
        new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in others),
    )
    inserted, updated = conn.execute(query).fetchall()[0]
    return int(inserted), int(updated)


__all__ = ["CHUNK_ROWS", "DEFAULT_LOCK_TIMEOUT", "PushCounts", "push"]
