"""The compare: existing tables against Blaze staging, table by table, field by field.

Inputs are frames (eager or lazy): the existing tables by their legacy names, the Blaze side as
staging-shaped frames (keyed by legacy or staging name); :mod:`.load` reads them from Postgres,
DuckDB or a folder of exports. No Python loop touches a row; the work runs in three polars
stages, each over all tables at once:

1. select each side's key and fields (and, for customers, recompute the derived fields);
2. pair rows (:mod:`.pairing`: key, then position for repeated keys; a sorted merge join);
3. per field, keep the matched pairs not equal as stored (a cheap comparison) and classify only
   those (:mod:`.classify`): they are the discrepancy list, and their kinds plus the equal rest
   are the field's tally. Normalisation, the costly part, runs on the few that differ.

Fields: every compared staging column of the mapping (:attr:`Table.compared`, match keys
aside) whose existing column is present and was there before 01_setup, plus, for customers,
the derived fields recomputed from the Blaze transactions (:mod:`.derived`) against the stale
legacy values. ``customers.last_visited`` is compared against the *derived* last visit (the
latest shop-local day with a completed sale), not Blaze's ``lastVisitDate``: the derived value
is the one the other derived fields follow from and the one the cutover writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import polars as pl

from ..errors import ConfigurationError
from ..mapping import CUSTOMERS, TABLES, TRANSACTIONS, Table, table as mapped_table
from ..setup_sql import MetricsRules
from . import classify as K
from . import pairing as P
from .coerce import display
from .derived import metrics_plan
from .gate import DEFAULT_KEY_FIELDS, DEFAULT_THRESHOLD, evaluate
from .normalize import Rule
from .plan import Field, Frame, Plan, by_legacy_name, check_parsed, plan
from .result import DISCREPANCY_SCHEMA, CompareResult, FieldCounts, TableResult
#: matched pairs classified at a time: bounds the memory of a large table's compare
CHUNK_ROWS = 500_000


def _discrepancies(t: Table, n_keys: int, matched: pl.LazyFrame, f: Field) -> pl.LazyFrame:
    """The pairs of ``f`` not equal as stored, classified: normalisation runs on these only."""
    (e, b), (ne, nb) = f.typed(), f.normalized()
    return matched.filter(~f.stored_equal()).select(
        pl.lit(t.legacy).alias("table"),
        P.key_text(n_keys).alias("key"),
        pl.lit(f.name).alias("field"),
        display(e, f.rule.dtype).alias("existing"),
        display(b, f.rule.dtype).alias("blaze"),
        display(ne, f.rule.dtype).alias("existing_norm"),
        display(nb, f.rule.dtype).alias("blaze_norm"),
        f.classify().alias("kind"),
    )


def compare(
    existing: Mapping[str, Frame],
    blaze: Mapping[str, Frame],
    *,
    as_of: date,
    threshold: float = DEFAULT_THRESHOLD,
    key_fields: Iterable[str] = DEFAULT_KEY_FIELDS,
    metrics: MetricsRules | None = None,
    field_rules: Mapping[str, str | Rule] | None = None,
    added: Mapping[str, Iterable[str]] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CompareResult:
    """Compare every table given on both sides; see the module docstring.

    ``as_of``: the day ``days_since_last_visit`` and ``churn_risk`` are computed for.
    ``metrics``: shop time zone, tier and churn bounds (defaults: CONTRACTS.md §3).
    ``field_rules``: ``"table.field"`` -> rule name or :class:`Rule`, over
    :data:`.normalize.FIELD_RULES`. ``added``: per table, the columns 01_setup added to the
    existing table (not compared; :func:`.load.existing_from_postgres` drops them already).
    ``threshold`` and ``key_fields``: the gate's (:mod:`.gate`). ``chunk_rows``: matched pairs
    classified at a time (memory, not results, depends on it).
    """
    e_frames, b_frames = by_legacy_name(existing, "existing"), by_legacy_name(blaze, "Blaze")
    one_sided = sorted(set(e_frames) ^ set(b_frames))
    if one_sided:
        raise ConfigurationError(f"table(s) {one_sided} given on one side only", hint="give both sides of each table compared")
    derived = derived_reason = None
    if CUSTOMERS.legacy in b_frames:
        if TRANSACTIONS.legacy in b_frames:
            derived = metrics_plan(b_frames[CUSTOMERS.legacy].lazy(), b_frames[TRANSACTIONS.legacy].lazy(), as_of=as_of, rules=metrics)
        else:
            derived_reason = "no Blaze transactions given to derive from"
    added_sets = {mapped_table(k).legacy: set(v) for k, v in (added or {}).items()}
    plans = [
        plan(
            t, e_frames, b_frames,
            derived=derived if t is CUSTOMERS else None, derived_reason=derived_reason,
            added=added_sets.get(t.legacy, set()), overrides=field_rules,
        )  # fmt: skip
        for t in TABLES
        if t.legacy in e_frames
    ]

    sides, orphans = _read(plans)
    check_parsed(plans, sides)
    tables: dict[str, TableResult] = {}
    found: list[pl.DataFrame] = []
    for p, (e, b), orphan in zip(plans, sides, orphans, strict=True):
        tables[p.table.legacy], listed = _compare_table(p, e, b, orphan, chunk_rows)
        found += listed
    gate = evaluate({name: t.as_dict() for name, t in tables.items()}, threshold=threshold, key_fields=key_fields)
    frame = pl.concat([d.cast(DISCREPANCY_SCHEMA) for d in found]) if found else pl.DataFrame(schema=DISCREPANCY_SCHEMA)
    rules = {f"{p.table.legacy}.{f.name}": f.rule.name for p in plans for f in p.fields}
    return CompareResult(as_of=as_of, tables=tables, gate=gate, discrepancies=frame, rules=rules)


def _read(plans: list[Plan]) -> tuple[list[tuple[pl.DataFrame, pl.DataFrame]], list[dict[str, int | None]]]:
    """Stage 1: both sides of every table and the orphan counts; the lazy ones in one go."""
    queries = [q for p in plans for q in (p.existing, p.blaze, *(p.orphans or ())) if isinstance(q, pl.LazyFrame)]
    it = iter(pl.collect_all(queries))
    sides, orphans = [], []
    for p in plans:
        e, b = (s if isinstance(s, pl.DataFrame) else next(it).rechunk() for s in (p.existing, p.blaze))
        sides.append((e, b))
        orphans.append({s: int(next(it).item()) for s in ("existing", "blaze")} if p.orphans else {"existing": None, "blaze": None})
    return sides, orphans


def _compare_table(p: Plan, e: pl.DataFrame, b: pl.DataFrame, orphans: dict[str, int | None], chunk_rows: int) -> tuple[TableResult, list[pl.DataFrame]]:
    """Stages 2 and 3 for one table: pair, then classify in slices of matched pairs (bounded memory)."""
    pg = P.pair(e, b)
    counts = {(f.name, k): 0 for f in p.fields for k in K.KINDS}
    listed: list[pl.DataFrame] = []
    for start in range(0, max(pg.matched, 1), chunk_rows):
        matched = P.assemble(e, b, pg, start, start + chunk_rows)
        done = pl.collect_all([_discrepancies(p.table, len(p.keys), matched.lazy(), f) for f in p.fields])
        for f, frame in zip(p.fields, done, strict=True):
            tally = frame.select((pl.col("kind") == k).sum().alias(k) for k in K.KINDS).row(0, named=True)
            tally[K.EQUAL] = matched.height - frame.height  # what is not listed is equal as stored
            for k in K.KINDS:
                counts[(f.name, k)] += int(tally[k])
        listed += done
    result = TableResult(
        name=p.table.legacy,
        rows_existing=pg.rows_existing,
        rows_blaze=pg.rows_blaze,
        matched=pg.matched,
        only_existing=pg.rows_existing - pg.matched,
        only_blaze=pg.rows_blaze - pg.matched,
        fields={f.name: FieldCounts(rule=f.rule.name, compared=pg.matched, **{k: counts[(f.name, k)] for k in K.KINDS}) for f in p.fields},
        duplicates={"existing": {"keys": pg.existing.keys, "rows": pg.existing.rows}, "blaze": {"keys": pg.blaze.keys, "rows": pg.blaze.rows}},
        null_keys={"existing": pg.existing.null_keys, "blaze": pg.blaze.null_keys},
        orphans=orphans,
        not_compared=p.not_compared,
    )
    return result, listed


__all__ = ["CHUNK_ROWS", "compare"]
