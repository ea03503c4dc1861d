"""A few values per step, table and column as they were and as the cutover writes them.

Counts tell a reviewer how much a step changes; a handful of real ``before → after`` pairs
tell them *what* it changes (a phone's format, a recomputed lifetime value, a filled-in time
stamp). They come from ``cutover_backup`` and ``cutover_inserted``: :func:`.plan.plan` reads
them inside its rolled-back dry run, and an applied run's are read back from the tables, which
keep them until ``finalize.sql``. The values are as stored, personal data included, so they
stay in memory (never in ``cutover_plan.json``): masking them is the report's job.
"""

from __future__ import annotations

import polars as pl
import psycopg
from psycopg import sql

from ..mapping import TABLES
from ..setup_sql import match_key
from .sqlgen import BACKUP, INSERTED
from .steps import OLD_SUFFIX

#: what :func:`read` returns; ``column`` is ``*`` for an inserted row (``before``/``after`` empty)
SCHEMA = {"step": pl.String, "table": pl.String, "column": pl.String, "key": pl.String,
          "before": pl.String, "after": pl.String}
#: tables whose rows meet on other columns than their key, so an inserted row's key comes from a
#: sequence: the one a plan's dry run drew is not the one apply will draw (items' ``id``)
ASSIGNED_KEYS: frozenset[str] = frozenset(t.legacy for t in TABLES if match_key(t) != (t.legacy_key,))

# Per (step, table, column): values that really change first, then replaced ones (not NULL
# before), then by key. The ``_old`` backup columns only copy the old value, so they are left out.
_QUERY = """
SELECT step, table_name, column_name, key, old_value, new_value FROM (
    SELECT step, table_name, column_name, key, old_value, new_value,
           row_number() OVER (PARTITION BY step, table_name, column_name
                              ORDER BY old_value IS NOT DISTINCT FROM new_value, old_value IS NULL, key) AS n
    FROM {backup} WHERE run_id = %(run)s AND right(column_name, %(suffix_len)s) <> %(suffix)s
) picked WHERE n <= %(per)s
UNION ALL
SELECT step, table_name, '*', key, NULL, NULL FROM (
    SELECT step, table_name, key, row_number() OVER (PARTITION BY step, table_name ORDER BY key) AS n
    FROM {inserted} WHERE run_id = %(run)s
) picked WHERE n <= %(per)s
ORDER BY 1, 2, 3, 4
"""


def read(conn: psycopg.Connection, schema: str, run_id: str, per_column: int = 2) -> pl.DataFrame:
    """Up to ``per_column`` examples per (step, table, column) of run ``run_id``; see the module docstring."""
    query = sql.SQL(_QUERY).format(backup=sql.Identifier(schema, BACKUP), inserted=sql.Identifier(schema, INSERTED))
    rows = conn.execute(query, {"run": run_id, "per": int(per_column), "suffix": OLD_SUFFIX,
                                "suffix_len": len(OLD_SUFFIX)}).fetchall()
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


__all__ = ["ASSIGNED_KEYS", "SCHEMA", "read"]
