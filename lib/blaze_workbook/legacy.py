"""The existing ("report-derived") database as the workbook expects it, shipped as data.

``data/legacy_schema.sql`` is the shape a shop's Postgres has before 01_setup. The
introspection report compares a live database against it; the demo and the tests create it.
Real databases differ a little (an optional column missing, an extra one present): the report
says how, and 01_setup copes.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import psycopg
from psycopg import sql

from .postgres import translated

_TABLE = re.compile(r"CREATE TABLE\s+(\w+)\s*\((.*?)\n\);", re.S | re.I)
_NOT_A_COLUMN = ("primary", "unique", "constraint", "foreign", "check", "exclude")
#: the pseudo-types of the schema file, as the catalog reports them
_ALIASES = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}


def schema_sql() -> str:
    """The text of the shipped ``legacy_schema.sql``."""
    return (files("blaze_workbook") / "data" / "legacy_schema.sql").read_text(encoding="utf-8")


@cache
def expected_tables() -> dict[str, dict[str, str]]:
    """Table -> column -> type (``serial`` read as ``integer``), in the file's order."""
    out: dict[str, dict[str, str]] = {}
    for name, body in _TABLE.findall(schema_sql()):
        columns: dict[str, str] = {}
        for raw in body.splitlines():
            line = raw.split("--", 1)[0].strip().rstrip(",")
            if not line or line.split()[0].lower() in _NOT_A_COLUMN:
                continue
            column, type_ = line.split()[:2]
            columns[column] = _ALIASES.get(type_.lower(), type_.lower())
        out[name] = columns
    return out


def create_schema(conn: psycopg.Connection, schema: str = "public") -> None:
    """Create the four legacy tables in ``schema`` (which must exist), in one transaction."""
    with translated(f"creating the legacy tables in schema {schema!r}"), conn.transaction():
        conn.execute(sql.SQL("SELECT set_config('search_path', {}, true)").format(sql.Literal(sql.Identifier(schema).as_string(conn))))
        conn.execute(schema_sql())
