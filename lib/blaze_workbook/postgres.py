"""Access to the existing Postgres: ``DATABASE_URL``, else the embedded server under the home.

Everything that talks to Postgres goes through :func:`connect` (psycopg 3) or :func:`engine`
(SQLAlchemy, for introspection), so connection failures and Postgres errors reach the user
once, translated into the workbook's error tree by :func:`translate`, with a message that says
what is wrong and what to do, and never a password.

Identifiers are always composed with :mod:`psycopg.sql` (:func:`qualified`), never formatted
into SQL text: a table name like ``'; DROP TABLE customers; --`` is just a name that does not
exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import sqlalchemy
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.pool import NullPool

from . import pg_embedded
from .config import database_url
from .errors import ConfigurationError, DatabaseError, LockedError, RetryableError, WorkbookError
from .redact import redact, register_secret

#: seconds a connection attempt may take before the server counts as unreachable
CONNECT_TIMEOUT = 10

_UNREACHABLE = (
    "connection refused",
    "no such file or directory",
    "timeout expired",
    "could not translate host name",
    "failed to resolve host",
    "name or service not known",
    "network is unreachable",
    "no route to host",
    "server closed the connection unexpectedly",
    "is the server running",
)
_BAD_CREDENTIALS = ("password authentication failed", "no password supplied", "role", "pg_hba.conf", "authentication")


def url() -> str:
    """The connection string: ``DATABASE_URL`` when set, else the embedded server (started).

    The value may hold a password: show it only through :func:`display_url`.
    """
    configured = database_url()
    if configured:
        _register_password(configured)
        return configured
    return pg_embedded.start().uri()


def display_url(conninfo: str | None = None) -> str:
    """The connection string with its password masked, for logs and reports."""
    return redact(conninfo if conninfo is not None else url())


def describe(conninfo: str) -> str:
    """``user@host:port/dbname`` for messages: where we tried to connect, without secrets."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "<unparseable connection string>"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port") or "5432"
    user = parts.get("user") or "<default user>"
    return redact(f"{user}@{host}:{port}/{parts.get('dbname') or '<default database>'}")


def _register_password(conninfo: str) -> None:
    try:
        register_secret(str(conninfo_to_dict(conninfo).get("password") or ""))
    except psycopg.Error:
        pass  # reported by connect()


def _source(conninfo: str | None) -> str:
    if conninfo is not None:
        return "the connection string"
    return "DATABASE_URL" if database_url() else "the embedded Postgres"


def connect(conninfo: str | None = None, *, autocommit: bool = False, connect_timeout: int = CONNECT_TIMEOUT) -> psycopg.Connection:
    """A new psycopg connection to ``conninfo`` (default :func:`url`); errors are translated."""
    source = _source(conninfo)
    target = conninfo if conninfo is not None else url()
    _register_password(target)
    try:
        return psycopg.connect(target, autocommit=autocommit, connect_timeout=connect_timeout)
    except psycopg.ProgrammingError as exc:  # the string itself does not parse
        raise ConfigurationError(
            f"{source} is not a valid Postgres connection string: {exc}",
            hint="use the form postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        ) from exc
    except psycopg.OperationalError as exc:
        raise _connect_error(exc, target, source) from exc


def _connect_error(exc: psycopg.OperationalError, conninfo: str, source: str) -> WorkbookError:
    """One clear error for a failed connection attempt (libpq gives no SQLSTATE here)."""
    text = str(exc).lower()
    where = describe(conninfo)
    parts = _safe_parts(conninfo)
    if "database" in text and "does not exist" in text:
        name = parts.get("dbname") or "?"
        return DatabaseError(
            f"database {name!r} does not exist on the server at {where}",
            hint=f"create it (createdb {name}) or fix the database name in {source}",
        )
    if any(marker in text for marker in _UNREACHABLE):
        return DatabaseError(
            f"cannot reach Postgres at {where}: {_first_line(exc)}",
            hint=f"start the server or fix host and port in {source}"
            + ("; unset DATABASE_URL to use the embedded Postgres" if source == "DATABASE_URL" else ""),
        )
    if any(marker in text for marker in _BAD_CREDENTIALS):
        return DatabaseError(
            f"Postgres at {where} refused the credentials of user {parts.get('user') or '?'!r}: {_first_line(exc)}",
            hint=f"check the user name and password in {source}",
        )
    return DatabaseError(f"cannot connect to Postgres at {where}: {_first_line(exc)}", hint=f"check {source}")


def _safe_parts(conninfo: str) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if k != "password"}
    except psycopg.Error:
        return {}


def _first_line(exc: BaseException) -> str:
    """The useful part of a libpq message: its last ``failed:`` clause, first line."""
    line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return line.rsplit("failed: ", 1)[-1].strip()


def engine(conninfo: str | None = None) -> sqlalchemy.Engine:
    """A SQLAlchemy engine (``postgresql+psycopg``) for introspection; connects via :func:`connect`."""
    if conninfo is None:
        conninfo = url()
    return sqlalchemy.create_engine("postgresql+psycopg://", creator=lambda: connect(conninfo), poolclass=NullPool)


def translate(exc: psycopg.Error, what: str = "") -> WorkbookError:
    """The workbook error for a Postgres error raised while doing ``what``."""
    diag = exc.diag
    primary = diag.message_primary or _first_line(exc)
    detail = f"{what}: {primary}" if what else primary
    if isinstance(exc, (pgerrors.LockNotAvailable, pgerrors.DeadlockDetected)):
        return LockedError(
            f"{detail} (another session holds a lock on the same table past lock_timeout)",
            hint="nothing was changed; run again when the other session is done, or raise lock_timeout",
        )
    if isinstance(exc, pgerrors.UndefinedTable):
        return DatabaseError(
            detail,
            hint="check that DATABASE_URL points at the existing database and the schema is right; "
            "staging tables and views come from 01_setup with apply=true",
        )
    if isinstance(exc, pgerrors.UndefinedColumn):
        return DatabaseError(detail, hint="the table lacks a column the workbook needs; the 01_setup report lists what is missing")
    if isinstance(exc, pgerrors.InvalidSchemaName):
        return DatabaseError(detail, hint="fix the schema parameter or create the schema")
    if isinstance(exc, pgerrors.InsufficientPrivilege):
        return DatabaseError(detail, hint="grant the privilege to the user in DATABASE_URL, or connect as the tables' owner")
    if isinstance(exc, (pgerrors.InvalidParameterValue, pgerrors.InvalidTextRepresentation)):
        return ConfigurationError(detail, hint="fix the parameter's value")
    if isinstance(exc, (pgerrors.QueryCanceled, pgerrors.AdminShutdown)) or (
        isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None
    ):
        return RetryableError(f"{detail} (the statement was cancelled or the connection was lost)")
    return DatabaseError(f"{detail} (SQLSTATE {exc.sqlstate})" if exc.sqlstate else detail)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a block; a Postgres error inside it leaves as one workbook error, wrapped once."""
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc, what) from exc


def qualified(schema: str, name: str) -> sql.Identifier:
    """``"schema"."name"``: quoted by composition, whatever characters the names hold."""
    return sql.Identifier(schema, name)


def stop(pgdata: Path | None = None) -> bool:
    """Stop the embedded Postgres (of the workbook home by default); ``False`` if not running."""
    return pg_embedded.stop(pgdata)


__all__ = ["connect", "describe", "display_url", "engine", "qualified", "stop", "translate", "translated", "url"]
