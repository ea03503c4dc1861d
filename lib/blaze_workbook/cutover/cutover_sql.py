"""``cutover.sql``: the resolved sections as one reviewable script of labelled parts.

Layout: a ``preamble`` part (session settings, the side tables, the run's row, the item
pairing and the metrics, each computed once), one ``step`` part per (step, table) — log row
with the checksum before, any ``_old`` column it adds, its key-ordered batches (an insertion
first sets its new records apart, once), log row closed with the counts and the checksum
after — and a ``finish`` part marking the run applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from ..mapping import CUSTOMERS, TRANSACTION_ITEMS
from . import sqlgen
from .script import Part
from .steps import Insert, Section, Update

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def comment(text: str) -> str:
    """Text safe on one comment line: a key holding a newline cannot end the comment."""
    return _CONTROL.sub(" ", text)


@dataclass(frozen=True)
class Counts:
    """What a (step, table) changed: rows, cells (backed-up values), rows inserted."""

    rows: int = 0
    cells: int = 0
    inserted: int = 0


def needs_pairs(sections: tuple[Section, ...]) -> bool:
    return any(a.table is TRANSACTION_ITEMS for s in sections for a in s.actions)


def needs_metrics(sections: tuple[Section, ...]) -> bool:
    return any((isinstance(a, Update) and a.source == "metrics") or (isinstance(a, Insert) and a.table is CUSTOMERS) for s in sections for a in s.actions)


def compare_notes(section: Section, summary: Mapping[str, Any] | None) -> list[str]:
    """What the compare run found for the section's fields, to set beside what the plan counted."""
    if not summary:
        return []
    table = (summary.get("tables") or {}).get(section.table.legacy) or {}
    fields = table.get("fields") or {}
    notes = []
    for w in section.written:
        f = fields.get(w.compare_field.split(".", 1)[1]) if w.compare_field else None
        if f:
            notes.append(
                f"compare: {w.column} {f.get('mismatched', 0)} mismatched of {f.get('compared', 0)} "
                f"({f.get('real', 0)} real, {f.get('missing_in_existing', 0)} missing here, "
                f"{f.get('missing_in_blaze', 0)} missing in Blaze: kept, {f.get('format_only', 0)} format only)"
            )
    if section.inserts and "only_blaze" in table:
        notes.append(f"compare: {table['only_blaze']} records only in Blaze")
    return notes


def section_comments(section: Section, summary: Mapping[str, Any] | None, counts: Counts | None) -> list[str]:
    lines = [f"Step {section.step.number} ({section.step.title}): {section.table.legacy}"]
    for action in section.actions:
        if isinstance(action, Update):
            cols = [w.column for w in action.writes]
            lines.append(f"  update from {action.source}: {', '.join(cols)}")
        else:
            lines.append(f"  insert the records only in {action.table.staging}")
    if section.add_columns:
        lines.append(f"  adds {', '.join(c for c, _ in section.add_columns)} (nullable), filled once by this run")
    if section.missing:
        lines.append(f"  the table lacks {', '.join(section.missing)}: left out")
    lines += [f"  {n}" for n in compare_notes(section, summary)]
    if counts is not None:
        lines.append(f"  planned (counted by running this script in a rolled-back transaction): {counts.rows} rows, {counts.cells} values, {counts.inserted} inserted")
    return [comment(line) for line in lines]


def parts(
    *,
    schema: str,
    run_id: str,
    sections: tuple[Section, ...],
    batches: Mapping[tuple[int, int], tuple[sqlgen.Range, ...]],
    lock_timeout: str,
    statement_timeout: str,
    planned_at: str,
    compare_run: str | None,
    summary: Mapping[str, Any] | None = None,
    counts: Mapping[tuple[str, str], Counts] | None = None,
    returning_old: bool = False,
) -> list[Part]:
    """Every part of ``cutover.sql``, in order."""
    steps = sorted({s.step.id for s in sections}, key=lambda s: int(s.split("_", 1)[0]))
    preamble = [
        *sqlgen.settings(lock_timeout, statement_timeout),
        *sqlgen.side_tables(schema),
        sqlgen.register_run(schema, run_id, steps, compare_run, planned_at),
    ]
    if needs_pairs(sections):
        types = next((s.match_types for s in sections if s.table is TRANSACTION_ITEMS), ())
        preamble += sqlgen.item_pairs(schema, types)
    if needs_metrics(sections):
        preamble += sqlgen.metrics(schema)
    out = [Part("preamble", "", tuple(preamble), ("session settings, the cutover's own tables, this run's row, item pairing and metrics",))]
    last_step: dict[str, str] = {}
    for si, section in enumerate(sections):
        statements: list[sql.Composable] = [sqlgen.log_start(schema, run_id, section, last_step.get(section.table.legacy))]
        for column, type_ in section.add_columns:
            statements += sqlgen.add_old_column(schema, run_id, section.table, column, type_)
        for ai, action in enumerate(section.actions):
            rngs = batches.get((si, ai), (sqlgen.Range(),))
            if isinstance(action, Insert):
                statements += sqlgen.new_rows(schema, action)
            else:
                statements.append(sqlgen.backup_columns(schema, run_id, section.step.id, action))
            for bi, rng in enumerate(rngs, 1):
                note = sql.SQL("-- {} {}, batch {} of {}: {}\n").format(
                    sql.SQL(action.kind), sql.SQL(action.table.legacy), sql.SQL(str(bi)), sql.SQL(str(len(rngs))), sql.SQL(comment(rng.describe()))
                )
                if isinstance(action, Update):
                    statement = sqlgen.update(schema, run_id, section.step.id, action, rng, returning_old=returning_old)
                else:
                    statement = sqlgen.insert(schema, run_id, section.step.id, action, rng)
                statements.append(sql.Composed([note, statement]))
        statements.append(sqlgen.log_finish(schema, run_id, section))
        last_step[section.table.legacy] = section.step.id
        c = (counts or {}).get((section.step.id, section.table.legacy)) if counts is not None else None
        out.append(Part("step", f"{section.step.id} {section.table.legacy}", tuple(statements), tuple(section_comments(section, summary, c))))
    out.append(Part("finish", "", (sqlgen.finish_run(schema, run_id),), ("the run is applied once verify.sql passes in the same transaction",)))
    return out


__all__ = ["Counts", "comment", "compare_notes", "needs_metrics", "needs_pairs", "parts"]
