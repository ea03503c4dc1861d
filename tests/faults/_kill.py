"""SIGKILL at a chosen point, and what the killed run left compared with a run never interrupted.

The work under test (a sync, its Postgres push, a cutover apply) runs in a child process that
kills itself with SIGKILL — no ``finally``, no ``atexit``, no flush — on reaching its
:class:`KillPoint`. The point is found by the work's own events (a stored page, a DuckDB
transaction about to commit, an entity finished), by thin wrappers around the push's steps and
the apply's statements that add a kill and change nothing else, or by a timer. Children are
forked from a multiprocessing forkserver that imported the workbook once, so a kill costs the
work, not a second of imports.

What a run left is compared with a :class:`Reference` (an uninterrupted run) table by table, by
key and by full row; :class:`Check` counts rows verified, losses, duplicates, extra keys and
changed rows.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from _sync_run import run_sync
from blaze_workbook import cutover
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.mapping import TABLES
from blaze_workbook.sync import Warehouse

#: the exit status of a child whose work ended before its kill point was reached
COMPLETED = 3
#: stages of one table's push: inside COPY, after the upsert (before COMMIT), after COMMIT
#: (before the warehouse's push marker moves), after the marker moved
PUSH_STAGES = ("copy", "upsert", "commit", "marker")
#: children are forked with the workbook already imported (the forkserver of Python 3.11 does not
#: get the tests' sys.path before preloading, so this module itself is imported in each child)
CTX = multiprocessing.get_context("forkserver")
CTX.set_forkserver_preload(["blaze_workbook.sync", "blaze_workbook.cutover", "blaze_workbook.blaze.client", "psycopg"])


def die() -> None:
    """SIGKILL this process: nothing after this line runs, not even a ``finally``."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class KillPoint:
    """Where a child dies.

    ``kind``: ``page``/``commit`` (the ``n``-th stored page / DuckDB commit of entity
    ``target``), ``done`` (entity ``target`` finished), ``push`` (table ``target`` at ``stage``),
    ``time`` (``seconds`` after the work started), ``statement`` (before the ``n``-th statement
    of a cutover apply), ``committed`` (a cutover apply right after its COMMIT), ``never``.
    """

    kind: str
    target: str = ""
    n: int = 1
    stage: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        if self.kind in ("page", "commit"):
            return f"{self.kind} {self.n} of {self.target}"
        if self.kind == "push":
            return f"push of {self.target} at {self.stage}"
        if self.kind == "time":
            return f"{self.seconds:.2f} s in"
        if self.kind == "statement":
            return f"before statement {self.n} of the apply"
        return f"{self.kind} {self.target}".strip()


NEVER = KillPoint("never")


class Tripwire:
    """Counts a sync's events and kills the process at its point (``never``: only counts).

    DuckDB commits are attributed to the entity whose ``start`` came last in the committing
    thread (entities sync side by side, each in its own thread, and commit there); the plans
    stored before any entity starts count under ``""``.
    """

    def __init__(self, point: KillPoint = NEVER) -> None:
        self.point = point
        self._entity: dict[int, str] = {}
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()

    def progress(self, event: Any) -> None:
        if event.kind == "start":
            self._entity[threading.get_ident()] = event.entity
        elif event.kind in ("page", "done"):
            self._count(event.kind, event.entity)

    def before_commit(self) -> None:
        self._count("commit", self._entity.get(threading.get_ident(), ""))

    def _count(self, kind: str, entity: str) -> None:
        with self._lock:
            self.counts[(kind, entity)] += 1
            reached = self.counts[(kind, entity)]
        if self.point.kind == kind and self.point.target == entity and reached == self.point.n:
            die()


# --------------------------------------------------------------------------- children


@dataclass(frozen=True)
class SyncJob:
    """One sync in a child: ``conninfo`` ``None`` means no push."""

    url: str
    warehouse: str
    now: str
    point: KillPoint
    log: str
    mode: str = "backfill"
    since: str | None = None
    conninfo: str | None = None
    page_limit: int = 100


@dataclass(frozen=True)
class ApplyJob:
    """One ``cutover apply`` of the plan in ``run_dir`` in a child; ``result``: a JSON file it writes."""

    conninfo: str
    run_dir: str
    point: KillPoint
    log: str
    result: str


def run_child(target: Callable[[Any], None], job: SyncJob | ApplyJob, timeout: float = 180) -> int:
    """Run ``target(job)`` in a forked child; its exit status (``-SIGKILL`` when it died)."""
    proc = CTX.Process(target=target, args=(job,), daemon=True)
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        raise AssertionError(f"the child did not finish in {timeout} s; its log: {tail(job.log)}")
    return int(proc.exitcode)


def tail(path: str, chars: int = 3000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _redirect(log: str) -> None:
    """The child's output goes to its log, not into the test runner's terminal."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def settings(url: str) -> BlazeSettings:
    return BlazeSettings(url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)


def sync_child(job: SyncJob) -> None:
    """A sync that kills itself at ``job.point``; exits :data:`COMPLETED` if it never got there."""
    _redirect(job.log)
    wire = Tripwire(job.point)
    if job.point.kind == "push":
        _arm_push(job.point)
    with Warehouse.open(job.warehouse) as wh:
        wh._before_commit = wire.before_commit  # the warehouse's test hook: inside the page's transaction
        if job.point.kind == "time":
            threading.Timer(job.point.seconds, die).start()
        summary = run_sync(settings(job.url), wh, mode=job.mode, since=job.since, now=job.now, push=job.conninfo is not None,
                           conninfo=job.conninfo, page_limit=job.page_limit, progress=wire.progress)
        print(summary, flush=True)
    os._exit(COMPLETED)  # after the warehouse closed; also ends a timer still waiting


def _arm_push(point: KillPoint) -> None:
    """Wrap the push's steps (COPY data, upsert, marker) so the process dies at ``point``."""
    module = importlib.import_module("blaze_workbook.sync.push")
    upsert, chunks, mark = module._upsert, module._csv_chunks, Warehouse.set_push_marker
    current = {"table": ""}

    def upsert_then_die(conn, t, ident, frame):  # noqa: ANN001, ANN202 - same signature as the wrapped one
        current["table"] = t.staging
        out = upsert(conn, t, ident, frame)
        if point.stage == "upsert" and t.staging == point.target:
            die()  # rows written, the table's transaction not committed
        return out

    def chunks_then_die(frame):  # noqa: ANN001, ANN202
        yield from chunks(frame)
        if point.stage == "copy" and current["table"] == point.target:
            die()  # every row sent, COPY not ended

    def mark_around(self, t, target, version, context):  # noqa: ANN001, ANN202
        if point.stage == "commit" and t.staging == point.target:
            die()  # Postgres committed, the warehouse's marker did not move
        mark(self, t, target, version, context)
        if point.stage == "marker" and t.staging == point.target:
            die()

    module._upsert, module._csv_chunks, Warehouse.set_push_marker = upsert_then_die, chunks_then_die, mark_around


def apply_child(job: ApplyJob) -> None:
    """``cutover.apply`` that kills itself at ``job.point``; writes the statements it ran to ``job.result``."""
    _redirect(job.log)
    count = {"n": 0}
    point = job.point

    class Wired(psycopg.Connection):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            count["n"] += 1
            if point.kind == "statement" and count["n"] == point.n:
                die()
            return super().execute(*args, **kwargs)

    if point.kind == "committed":  # the result is built right after the COMMIT of a first apply
        importlib.import_module("blaze_workbook.cutover.apply").ApplyResult = lambda *a, **k: die()
    with Wired.connect(job.conninfo) as conn:
        result = cutover.apply(conn, Path(job.run_dir), gate_passed=True)
    Path(job.result).write_text(json.dumps({"statements": count["n"], "rows": result.rows}))
    os._exit(COMPLETED)


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Check:
    """Rows compared with a reference: what was verified and every kind of difference."""

    records: int = 0
    losses: int = 0
    duplicates: int = 0
    extra: int = 0
    changed: int = 0
    examples: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.losses or self.duplicates or self.extra or self.changed)

    def __add__(self, other: Check) -> Check:
        return Check(self.records + other.records, self.losses + other.losses, self.duplicates + other.duplicates,
                     self.extra + other.extra, self.changed + other.changed, (self.examples + other.examples)[:6])

    def __str__(self) -> str:
        return (f"{self.records} rows: {self.losses} lost, {self.duplicates} duplicated, {self.extra} extra, "
                f"{self.changed} changed {list(self.examples)}")


Rows = dict[str, list[tuple]]


def compare(reference: Rows, rows: Rows, *, subset: bool = False) -> Check:
    """Table by table, by key (the first column) and by full row. ``subset``: missing rows are fine."""
    total = Check()
    for table, want_rows in reference.items():
        want = {r[0]: r for r in want_rows}
        got = rows.get(table, [])
        keys = Counter(r[0] for r in got)
        seen = {r[0]: r for r in got}
        lost = [] if subset else [k for k in want if k not in seen]
        extra = [k for k in seen if k not in want]
        changed = [k for k, r in seen.items() if k in want and r != want[k]]
        found = (("lost", lost), ("extra", extra), ("changed", changed))
        examples = tuple(f"{table}: {what} {keys_[0]!r}" for what, keys_ in found if keys_)
        total = total + Check(len(got), len(lost), sum(n - 1 for n in keys.values()), len(extra), len(changed), examples)
    return total


def warehouse_rows(wh: Warehouse) -> Rows:
    """Every staging table as the warehouse would push it (key first, the mapping's columns)."""
    return {t.staging: wh.staging_frame(t).select(_columns(t)).rows() for t in TABLES}


def postgres_rows(conninfo: str) -> Rows:
    """Every Postgres staging table, the same columns in the same order."""
    out = {}
    with psycopg.connect(conninfo) as conn:
        for t in TABLES:
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in _columns(t))
            query = sql.SQL("SELECT {} FROM {}").format(cols, sql.Identifier(t.staging))
            out[t.staging] = [tuple(r) for r in conn.execute(query)]
    return out


def _columns(t: Any) -> list[str]:
    return [t.key, *(c.name for c in t.columns if c.name != t.key)]


def whole_or_empty(reference: Rows, rows: Rows) -> dict[str, str]:
    """Per table ``full`` (equal to the reference) or ``empty``; anything else is ``partial``."""
    out = {}
    for table, want in reference.items():
        got = rows.get(table, [])
        out[table] = "empty" if not got else "full" if compare({table: want}, {table: got}).ok else "partial"
    return out


# --------------------------------------------------------------------------- the reference


@dataclass
class Reference:
    """An uninterrupted backfill: its parameters, the rows it left, the events it went through."""

    url: str
    since: date
    now: datetime
    page_limit: int
    warehouse: Path
    rows: Rows
    census: Counter[tuple[str, str]]
    seconds: float
    postgres: Rows = field(default_factory=dict)
    #: a warehouse file with the schema and nothing else: copied, it saves each child creating one
    empty: Path | None = None

    @property
    def records(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def job(self, warehouse: Path, point: KillPoint, log: Path, **changes: Any) -> SyncJob:
        """A child's backfill with the reference's parameters (into a copy of the empty warehouse
        unless ``warehouse`` exists)."""
        if self.empty is not None and not warehouse.exists():
            shutil.copyfile(self.empty, warehouse)
        base = SyncJob(self.url, str(warehouse), self.now.isoformat(), point, str(log), mode="backfill",
                       since=self.since.isoformat(), page_limit=self.page_limit)
        return replace(base, **changes)

    def resume(self, wh: Warehouse, conninfo: str | None) -> Any:
        """The next ordinary (scheduled) run: incremental, default page size, pushing when ``conninfo``."""
        return run_sync(settings(self.url), wh, since=self.since, now=self.now, push=conninfo is not None, conninfo=conninfo)


def build_reference(url: str, since: date, now: datetime, path: Path, conninfo: str, *, page_limit: int = 100) -> Reference:
    """Run the backfill once, uninterrupted, in this process (pushing to ``conninfo``)."""
    empty = path.with_name("empty.duckdb")
    Warehouse.open(empty).close()
    wire = Tripwire()
    with Warehouse.open(path) as wh:
        wh._before_commit = wire.before_commit
        started = time.perf_counter()
        summary = run_sync(settings(url), wh, mode="backfill", since=since, now=now, conninfo=conninfo,
                           page_limit=page_limit, progress=wire.progress)
        seconds = time.perf_counter() - started
        assert summary.ok, str(summary)
        rows = warehouse_rows(wh)
    return Reference(url, since, now, page_limit, path, rows, wire.counts, seconds, postgres_rows(conninfo), empty)


def sync_truth() -> Any:
    """``tests/sync/_sync_truth.py``: the simulator's truth mapped to staging from the contract,
    independently of the sync code (loaded by path: ``tests/sync`` is not a package)."""
    if "_sync_truth" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_sync_truth", Path(__file__).parents[1] / "sync" / "_sync_truth.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["_sync_truth"] = module
    return sys.modules["_sync_truth"]


# --------------------------------------------------------------------------- Postgres


@dataclass
class CutoverWorld:
    """A planned cutover on its own database, and every table's row checksum before it."""

    db: Any
    run_dir: Path
    run_id: str
    before: dict[str, str]


def wait_until_gone(admin_conninfo: str, dbname: str, timeout: float = 60) -> None:
    """Wait until no session is connected to ``dbname``: a killed client's backend notices the
    closed socket when it next reads or writes, then rolls back and exits."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        while True:
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)
            ).fetchone()[0]
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{left} session(s) still on {dbname} {timeout} s after the kill")
            time.sleep(0.05)


_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
_COLUMNS = ("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum")
_DIGEST = "SELECT md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) || ':' || count(*) FROM (SELECT {} AS r FROM {}) s"


def digests(
    conn: psycopg.Connection, *, tables: Iterable[str] | None = None, exclude: tuple[str, ...] = ()
) -> dict[str, str]:
    """Per table of schema ``public`` (or the named ones): md5 and count of every row (all columns
    but ``exclude``) in the order of the rows' text, so it does not depend on physical order."""
    out = {}
    with conn.transaction():
        names = list(tables) if tables is not None else [r[0] for r in conn.execute(_TABLES)]
        for name in names:
            cols = [r[0] for r in conn.execute(_COLUMNS, (name,)) if r[0] not in exclude]
            row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in cols))
            out[name] = conn.execute(sql.SQL(_DIGEST).format(row, sql.Identifier(name))).fetchone()[0]
    return out


__all__ = [
    "COMPLETED", "NEVER", "PUSH_STAGES", "ApplyJob", "Check", "CutoverWorld", "KillPoint", "Reference", "SyncJob",
    "Tripwire", "apply_child", "build_reference", "compare", "digests", "postgres_rows", "run_child", "sync_child",
    "sync_truth", "tail", "wait_until_gone", "warehouse_rows", "whole_or_empty",
]
