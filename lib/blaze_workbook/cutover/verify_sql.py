"""``verify.sql``: checks run in the cutover's own transaction, before it commits.

Each check inserts what it finds wrong into a temporary table; the last part raises when that
table is not empty, so ``psql --single-transaction -f cutover.sql -f verify.sql`` commits
nothing unless every check passes. The workbook runs the checks, reads the findings and
raises :class:`~blaze_workbook.errors.InvestigateError` with them (the transaction is rolled
back). The checks:

- ``counts`` — rows, values and insertions per (step, table) equal the plan's, and the log's
  counts equal the backups' and insertions' own;
- ``null_over_value`` — no backup replaces a value with NULL or ``''``;
- per table, in one pass over its backups and rows: ``recorded`` (every backed-up value is what
  the table holds), ``old_columns`` (an ``_old`` column this run created holds each row's value
  from before) and ``reconstruct`` (the rows with this run's backups undone and its insertions
  left out hash to the checksum taken before the run touched the table: every change has its
  backup); and every inserted row is there.

The checks are bulk joins over one run's backups; the session forbids nested loops for them
(the planner multiplies the selectivities of run, table and column and would otherwise pick
quadratic plans) and gives them a larger ``work_mem``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from psycopg import sql

from ..mapping import Table
from . import sqlgen
from .cutover_sql import Counts
from .script import Part
from .steps import Context, Insert, Section, Write

FAILURES = "cutover_verify_failures"
n = sql.Identifier
#: findings kept per check (enough to investigate, small enough to read)
LIMIT = 20


def _fail(check: str, detail: sql.Composable, rest: sql.Composable) -> sql.Composed:
    return sql.SQL("INSERT INTO pg_temp.{} (check_name, detail)\nSELECT {}, {}\n{}").format(n(FAILURES), sql.Literal(check), detail, rest)


def _where_run(run_id: str, alias: str, table: Table | None = None) -> sql.Composable:
    out = sql.SQL("{}.run_id = {}").format(n(alias), sql.Literal(run_id))
    if table is not None:
        out = sql.SQL("{} AND {}.table_name = {}").format(out, n(alias), sql.Literal(table.legacy))
    return out


def counts_check(schema: str, run_id: str, expected: Mapping[tuple[str, str], Counts]) -> sql.Composed:
    rows = sql.SQL(",\n        ").join(
        sql.SQL("({}, {}, {}, {}, {})").format(sql.Literal(step), sql.Literal(table), sql.Literal(c.rows), sql.Literal(c.cells), sql.Literal(c.inserted))
        for (step, table), c in expected.items()
    )
    detail = sql.SQL(
        "format('step %s, %s: planned %s rows (%s values, %s inserted), changed %s rows (%s values, %s inserted)',\n"
        "       coalesce(e.step, a.step), coalesce(e.table_name, a.table_name), e.rows_changed, e.cells_changed, e.rows_inserted,\n"
        "       a.rows_changed, a.cells_changed, a.rows_inserted)"
    )
    rest = sql.SQL(
        "FROM (VALUES\n        {rows}\n    ) AS e (step, table_name, rows_changed, cells_changed, rows_inserted)\n"
        "FULL JOIN (SELECT step, table_name, rows_changed, cells_changed, rows_inserted FROM {log} AS l WHERE {run}) AS a\n"
        "    ON a.step = e.step AND a.table_name = e.table_name\n"
        "WHERE (e.rows_changed, e.cells_changed, e.rows_inserted) IS DISTINCT FROM (a.rows_changed, a.cells_changed, a.rows_inserted)"
    ).format(rows=rows, log=sql.Identifier(schema, sqlgen.LOG), run=_where_run(run_id, "l"))
    return _fail("rows changed per step equal the plan", detail, rest)


def _by_section(sections: tuple[Section, ...], value: Callable[[tuple[Write, ...]], sql.Composable], default: sql.Composable) -> sql.Composed:
    """``CASE`` over a backup row's (step, table): ``value`` of that section's written columns.

    A backup row's values are arrays in the order of its section's columns, known here: the
    checks index them directly rather than unnesting every row (the ``cutover_backup`` view
    does that, several times slower)."""
    whens = [
        sql.SQL("WHEN b.step = {} AND b.table_name = {} THEN {}").format(sql.Literal(s.step.id), sql.Literal(s.table.legacy), value(s.written))
        for s in sections if s.written
    ]
    return sql.SQL("CASE {} ELSE {} END").format(sql.SQL(" ").join(whens), default) if whens else default


def _old(k: int) -> sql.Composed:
    return sql.SQL("b.old_values[{}]").format(sql.Literal(k))


def _new(k: int) -> sql.Composed:
    return sql.SQL("b.new_values[{}]").format(sql.Literal(k))


def _replaced(k: int) -> sql.Composed:
    """The backup row's ``k``-th value was replaced (its text changed: what ``cutover_backup`` lists)."""
    return sql.SQL("{} IS DISTINCT FROM {}").format(_old(k), _new(k))


def tally_check(schema: str, run_id: str, sections: tuple[Section, ...]) -> sql.Composed:
    """The log's counts against the backups and insertions themselves."""
    replaced = _by_section(
        sections,
        lambda ws: sql.SQL(" + ").join(sql.SQL("({})::int").format(_replaced(k)) for k in range(1, len(ws) + 1)),
        sql.SQL("0"),
    )
    detail = sql.SQL("format('step %s, %s: the log says %s values and %s insertions, the records hold %s and %s', "
                     "l.step, l.table_name, l.cells_changed, l.rows_inserted, coalesce(b.n, 0), coalesce(i.n, 0))")
    rest = sql.SQL(
        "FROM {log} AS l\n"
        "LEFT JOIN (SELECT step, table_name, sum({replaced}) AS n FROM {backup} AS b WHERE {brun} GROUP BY 1, 2) AS b USING (step, table_name)\n"
        "LEFT JOIN (SELECT step, table_name, count(*) AS n FROM {ins} AS i WHERE {irun} GROUP BY 1, 2) AS i USING (step, table_name)\n"
        "WHERE {lrun} AND (l.cells_changed, l.rows_inserted) IS DISTINCT FROM (coalesce(b.n, 0), coalesce(i.n, 0))"
    ).format(
        log=sql.Identifier(schema, sqlgen.LOG), backup=sql.Identifier(schema, sqlgen.BACKUP_ROWS), ins=sql.Identifier(schema, sqlgen.INSERTED),
        replaced=replaced, brun=_where_run(run_id, "b"), irun=_where_run(run_id, "i"), lrun=_where_run(run_id, "l"),
    )
    return _fail("the log's counts are the backups' and insertions'", detail, rest)


def null_check(schema: str, run_id: str, sections: tuple[Section, ...]) -> sql.Composed:
    """No backed-up value was replaced by NULL or ``''``: the first such column of each row is named."""

    def emptied(k: int) -> sql.Composed:
        return sql.SQL("{o} IS NOT NULL AND {o} <> '' AND ({nw} IS NULL OR {nw} = '')").format(o=_old(k), nw=_new(k))

    def first(ws: tuple[Write, ...]) -> sql.Composable:
        return sql.SQL("CASE {} END").format(sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN format('%s: %s replaced by %s', {}, quote_nullable({}), quote_nullable({}))").format(
                emptied(k), sql.Literal(w.column), _old(k), _new(k)) for k, w in enumerate(ws, 1)
        ))

    finding = _by_section(sections, first, sql.SQL("NULL"))
    detail = sql.SQL("format('%s of %s: %s', b.table_name, b.key, f.finding)")
    rest = sql.SQL(
        "FROM {backup} AS b\nCROSS JOIN LATERAL (SELECT {finding} AS finding) AS f\nWHERE {run} AND f.finding IS NOT NULL\nLIMIT {limit}"
    ).format(backup=sql.Identifier(schema, sqlgen.BACKUP_ROWS), finding=finding, run=_where_run(run_id, "b"), limit=sql.Literal(LIMIT))
    return _fail("no NULL written over a value", detail, rest)


def inserted_check(ctx: Context, run_id: str, t: Table) -> sql.Composed:
    """Every row the run inserted is there (its md5 was taken from the row itself as it was inserted)."""
    return _fail(
        "inserted rows are there",
        sql.SQL("format('%s %s: the inserted row is missing', i.table_name, i.key)"),
        sql.SQL("FROM {ins} AS i\nWHERE {run} AND NOT EXISTS (SELECT 1 FROM {t} AS t WHERE t.{lk} = i.key::{kt})\nLIMIT {limit}").format(
            ins=sql.Identifier(ctx.schema, sqlgen.INSERTED), t=sql.Identifier(ctx.schema, t.legacy), lk=n(t.legacy_key),
            kt=sql.SQL(ctx.catalog[t.legacy].type_of(t.legacy_key)), run=_where_run(run_id, "i", t), limit=sql.Literal(LIMIT),
        ),
    )


def table_check(ctx: Context, run_id: str, t: Table, writes: list[tuple[str, int, Write]], olds: list[tuple[str, str, str]],
                first_step: str) -> sql.Composed:
    """Three checks of one table in one pass over its backups and its rows.

    - ``recorded``: every backed-up value is what the table holds (or the row is gone);
    - ``old_columns``: an ``_old`` column this run created holds each row's value from before;
    - ``reconstruct``: the rows as they were (backups undone, insertions left out) hash to the
      checksum taken before the run touched the table — so every change has its backup.
    """
    index = {w.column: i for i, (_, _, w) in enumerate(writes)}
    # one run holds at most one backup row per (step, table, key) and a column belongs to one
    # step (steps.py): each key's backup rows become one row with, per written column, whether
    # it was replaced and its values before and after (``writes`` holds each column's step and
    # position in that step's value arrays)
    pivot = []
    for i, (step, k, _) in enumerate(writes):
        replaced = sql.SQL("b.step = {} AND {}").format(sql.Literal(step), _replaced(k))
        pivot.append(
            sql.SQL("bool_or({r}) AS {h}, min({ov}) FILTER (WHERE {r}) AS {o}, min({nv}) FILTER (WHERE {r}) AS {nw}").format(
                r=replaced, ov=_old(k), nv=_new(k), h=n(f"h_{i}"), o=n(f"o_{i}"), nw=n(f"n_{i}")
            )
        )

    def before(column: str, type_: str) -> sql.Composable:
        if column not in index:
            return sql.SQL("t.{}").format(n(column))
        i = index[column]
        return sql.SQL("CASE WHEN b.{h} THEN b.{o}::{ty} ELSE t.{c} END").format(h=n(f"h_{i}"), o=n(f"o_{i}"), ty=sql.SQL(type_), c=n(column))

    unrecorded = [
        sql.SQL("CASE WHEN b.{h} AND t.{c}::text IS DISTINCT FROM b.{nw} THEN {name} END").format(
            h=n(f"h_{i}"), c=n(w.column), nw=n(f"n_{i}"), name=sql.Literal(w.column)
        )
        for i, (_, _, w) in enumerate(writes)
    ]
    added = sql.Identifier(ctx.schema, sqlgen.ADDED)
    wrong_old = [
        sql.SQL("CASE WHEN EXISTS (SELECT 1 FROM {a} AS a WHERE {run} AND a.column_name = {name}) AND t.{o} IS DISTINCT FROM {was} THEN {name} END").format(
            a=added, run=_where_run(run_id, "a", t), name=sql.Literal(old), o=n(old), was=before(source, type_)
        )
        for old, source, type_ in olds
    ]
    columns = ctx.catalog[t.legacy].columns  # the columns before the run, in order
    table = sql.Literal(t.legacy)
    return sql.SQL(
        "INSERT INTO pg_temp.{failures} (check_name, detail)\n"
        "WITH b AS (\n"
        "    SELECT b.key COLLATE \"C\" AS key,\n"
        "        {pivot}\n"
        "    FROM {backup} AS b WHERE {brun} GROUP BY 1\n"
        "), r AS MATERIALIZED (\n"
        "    SELECT coalesce(t.{lk}::text, b.key) AS key, t.{lk} IS NULL AS gone,\n"
        "        ROW({before})::text AS before_row,\n"
        "        array_remove(ARRAY[{unrecorded}], NULL) AS unrecorded,\n"
        "        array_remove(ARRAY[{wrong_old}]::text[], NULL) AS wrong_old\n"
        "    FROM {t} AS t\n"
        "    FULL JOIN b ON b.key = t.{lk}::text COLLATE \"C\"\n"
        "    WHERE t.{lk} IS NULL OR NOT EXISTS (SELECT 1 FROM {ins} AS i WHERE {irun} AND i.key = t.{lk}::text)\n"
        ")\n"
        "(SELECT 'the table holds what the backups say was written',\n"
        "        format('%s %s: %s', {table}, r.key, CASE WHEN r.gone THEN 'the row is gone' ELSE 'holds other values than the cutover wrote in ' || array_to_string(r.unrecorded, ', ') END)\n"
        " FROM r WHERE r.gone OR cardinality(r.unrecorded) > 0 LIMIT {limit})\n"
        "UNION ALL\n"
        "(SELECT 'the _old column keeps the value before the cutover',\n"
        "        format('%s %s: %s not the value before the cutover', {table}, r.key, array_to_string(r.wrong_old, ', '))\n"
        " FROM r WHERE cardinality(r.wrong_old) > 0 LIMIT {limit})\n"
        "UNION ALL\n"
        "(SELECT 'every change has its backup',\n"
        "        format('%s: with this run''s backups undone and its insertions left out the table hashes to %s, not to %s as before the run', {table}, x.checksum, l.checksum_before)\n"
        " FROM (SELECT {digest} AS checksum FROM r) AS x\n"
        " CROSS JOIN (SELECT l.checksum_before FROM {log} AS l WHERE {lrun} AND l.step = {step}) AS l\n"
        " WHERE x.checksum IS DISTINCT FROM l.checksum_before)"
    ).format(
        failures=n(FAILURES),
        pivot=sql.SQL(",\n        ").join(pivot) if pivot else sql.SQL("NULL AS nothing"),
        digest=sqlgen.digest(sql.SQL("r.before_row"), sql.SQL("NOT r.gone")),
        backup=sql.Identifier(ctx.schema, sqlgen.BACKUP_ROWS), brun=_where_run(run_id, "b", t),
        lk=n(t.legacy_key),
        before=sql.SQL(", ").join(before(c, ty) for c, ty in columns.items()),
        unrecorded=sql.SQL(", ").join(unrecorded) if unrecorded else sql.SQL("NULL::text"),
        wrong_old=sql.SQL(", ").join(wrong_old) if wrong_old else sql.SQL("NULL"),
        t=sql.Identifier(ctx.schema, t.legacy),
        ins=sql.Identifier(ctx.schema, sqlgen.INSERTED), irun=_where_run(run_id, "i", t),
        table=table, limit=sql.Literal(LIMIT),
        log=sql.Identifier(ctx.schema, sqlgen.LOG), lrun=_where_run(run_id, "l", t), step=sql.Literal(first_step),
    )


def parts(ctx: Context, run_id: str, sections: tuple[Section, ...], expected: Mapping[tuple[str, str], Counts], lock_timeout: str, statement_timeout: str) -> list[Part]:
    """Every part of ``verify.sql``."""
    out = [
        Part(
            "preamble",
            "",
            (
                *sqlgen.settings(lock_timeout, statement_timeout),
                sql.SQL("CREATE TEMPORARY TABLE {} (check_name text, detail text) ON COMMIT DROP").format(n(FAILURES)),
                # the checks are bulk joins: the planner's row estimates for one run's backups multiply
                # the selectivities of run, table and column, and a nested loop over them is quadratic
                sql.SQL("SET LOCAL enable_nestloop = off"),
                sql.SQL("SET LOCAL work_mem = '256MB'"),  # one run's backups pivoted by key stay in memory
                # statistics that include this transaction's rows
                sql.SQL("ANALYZE {}").format(sql.Identifier(ctx.schema, sqlgen.BACKUP_ROWS)),
                sql.SQL("ANALYZE {}").format(sql.Identifier(ctx.schema, sqlgen.INSERTED)),
            ),
            ("run in the cutover's transaction, after cutover.sql",),
        )
    ]
    if expected:
        out.append(Part("check", "counts", (counts_check(ctx.schema, run_id, expected), tally_check(ctx.schema, run_id, sections))))
    out.append(Part("check", "null_over_value", (null_check(ctx.schema, run_id, sections),)))
    tables = []
    for s in sections:
        if s.table not in tables:
            tables.append(s.table)
    for t in tables:
        mine = [s for s in sections if s.table is t]
        writes = [(s.step.id, k, w) for s in mine for k, w in enumerate(s.written, 1)]
        olds = [(old, next(w.backs_up for w in s.written if w.column == old) or "", type_) for s in mine for old, type_ in s.add_columns]
        statements = [table_check(ctx, run_id, t, writes, olds, mine[0].step.id)]
        if any(s.inserts for s in mine):
            statements.append(inserted_check(ctx, run_id, t))
        out.append(Part("check", t.legacy, tuple(statements)))
    out.append(
        Part(
            "assert",
            "",
            (
                sql.SQL(
                    "DO $verify$\nBEGIN\n"
                    "    IF EXISTS (SELECT 1 FROM pg_temp.{f}) THEN\n"
                    "        RAISE EXCEPTION 'cutover verification failed: %',\n"
                    "            (SELECT string_agg(check_name || ': ' || detail, '; ') FROM pg_temp.{f});\n"
                    "    END IF;\n"
                    "END\n$verify$"
                ).format(f=n(FAILURES)),
            ),
            ("psql stops here when a check failed; the workbook reads the findings instead",),
        )
    )
    return out


def failures_query() -> sql.Composed:
    return sql.SQL("SELECT check_name, detail FROM pg_temp.{}").format(n(FAILURES))


__all__ = ["FAILURES", "failures_query", "parts"]
