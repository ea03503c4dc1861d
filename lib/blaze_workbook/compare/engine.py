"""The compare: existing tables against Blaze staging, table by table, field by field.

Inputs are frames (eager or lazy): the existing tables by their legacy names, the Blaze side as
staging-shaped frames (keyed by legacy or staging name); :mod:`.load` reads them from Postgres,
DuckDB or a folder of exports. No Python loop touches a row. Tables are compared one at a time,
and nothing of one is kept for the next but its key hashes when it is another's parent; each
reads only the columns it compares, lazily (a parquet export is never read whole):

1. keys: each side's key columns are reduced to two 64-bit hashes per row (plus the parent
   reference's hash, for the orphan counts), and the rows are paired on them
   (:mod:`.pairing`: key, then position for repeated keys);
2. fields, a few at a time (:data:`GROUP_CELLS` bounds the memory of a large table): both sides'
   columns are read, the matched pairs gathered, and per field the pairs not equal as stored (a
   cheap comparison) are kept and classified (:mod:`.classify`): they are the discrepancy list,
   and their kinds plus the equal rest are the field's tally. Normalisation, the costly part,
   runs on the few that differ.

Fields: every compared staging column of the mapping (:attr:`Table.compared`, match keys
aside) whose existing column is present and was there before 01_setup, plus, for customers,
the derived fields recomputed from the Blaze transactions (:mod:`.derived`, computed once)
against the stale legacy values. ``customers.last_visited`` is compared against the *derived*
last visit (the latest shop-local day with a completed sale), not Blaze's ``lastVisitDate``:
the derived value is the one the other derived fields follow from and the one the cutover
writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import polars as pl

from ..errors import ConfigurationError
from ..mapping import CUSTOMERS, TABLES, TRANSACTIONS, table as mapped_table
from ..setup_sql import MetricsRules
from . import classify as K
from . import pairing as P
from .coerce import display
from .derived import derived_metrics
from .gate import DEFAULT_KEY_FIELDS, DEFAULT_THRESHOLD, evaluate
from .normalize import Rule
from .plan import Field, Frame, Plan, by_legacy_name, check_parsed, plan
from .result import DISCREPANCY_SCHEMA, CompareResult, FieldCounts, TableResult
#: matched pairs classified at a time: bounds the memory of a large table's compare
CHUNK_ROWS = 500_000
#: field values (rows of both sides times fields) read at a time: a large table's fields are
#: read in groups this size (one field at least), a small table's all at once
GROUP_CELLS = 60_000_000
#: above this many rows (both sides) a table's keys are read by polars' streaming engine
#: (faster on large parquet scans; slower to start on small ones)
STREAMING_ROWS = 1_000_000
_PAIR = "_pair"
_STAGED = ("_typed_e", "_typed_b", "_norm_e", "_norm_b")


def _discrepancies(f: Field, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """The pairs of ``f`` (all not equal as stored), classified: normalisation runs on these only.

    Each side's typed and normalised value is computed once, as a column, then displayed and
    classified from there (an expression repeated inside ``when`` chains would be evaluated,
    and its regexes compiled, once per use). A rule without a normalisation displays each value
    once: its normalised display is the same text (half a million money pairs at 100x spent a
    fifth of the customers' classification formatting decimals twice).
    """
    (e, b), dtype = f.typed(), f.rule.dtype
    te, tb, ne, nb = (pl.col(c) for c in _STAGED)
    typed = pairs.with_columns(e.alias(_STAGED[0]), b.alias(_STAGED[1]))
    if not f.rule.normalizes:
        return typed.select(
            pl.col(_PAIR),
            display(te, dtype).alias("existing"),
            display(tb, dtype).alias("blaze"),
            K.kind(te, tb, te, tb, f.rule, **f.blanks()).alias("kind"),
        ).select(_PAIR, "existing", "blaze", pl.col("existing").alias("existing_norm"), pl.col("blaze").alias("blaze_norm"), "kind")
    return (
        typed.with_columns(f.rule.normalize(te).alias(_STAGED[2]), f.rule.normalize_blaze(tb).alias(_STAGED[3]))
        .select(
            pl.col(_PAIR),
            display(te, dtype).alias("existing"),
            display(tb, dtype).alias("blaze"),
            display(ne, dtype).alias("existing_norm"),
            display(nb, dtype).alias("blaze_norm"),
            K.kind(te, tb, ne, nb, f.rule, **f.blanks()).alias("kind"),
        )
    )


def _classified(group: tuple[Field, ...], matched: pl.DataFrame) -> list[pl.DataFrame | None]:
    """Per field of ``group``, its pairs in ``matched`` not equal as stored, classified (``None``:
    all equal). One pass finds them for every field; only fields with any are classified."""
    differ = matched.select((~f.stored_equal()).alias(f.name) for f in group)
    queries: list[pl.LazyFrame] = []
    for f in group:
        mask = differ.get_column(f.name)
        if mask.any():
            queries.append(_discrepancies(f, matched.select(_PAIR, f.e, f.b).filter(mask).lazy()))
    done = iter(pl.collect_all(queries)) if queries else iter(())
    return [next(done) if differ.get_column(f.name).any() else None for f in group]


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
            # computed once, here: every group of customer fields reads it
            derived = derived_metrics(b_frames[CUSTOMERS.legacy], b_frames[TRANSACTIONS.legacy], as_of=as_of, rules=metrics).lazy()
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
    check_parsed(plans)
    parents = {p.orphans.parent for p in plans if p.orphans}
    hashes: dict[tuple[str, str], pl.Series] = {}  # (side, parent table) -> its key hashes
    tables: dict[str, TableResult] = {}
    found: list[pl.DataFrame] = []
    for p in plans:
        tables[p.table.legacy], listed = _compare_table(p, chunk_rows, hashes, keep=p.table.legacy in parents)
        found.append(listed)
    gate = evaluate({name: t.as_dict() for name, t in tables.items()}, threshold=threshold, key_fields=key_fields)
    frame = pl.concat(found) if found else pl.DataFrame(schema=DISCREPANCY_SCHEMA)
    rules = {f"{p.table.legacy}.{f.name}": f.rule.name for p in plans for f in p.fields}
    return CompareResult(as_of=as_of, tables=tables, gate=gate, discrepancies=frame, rules=rules)


def _keys(p: Plan, first: tuple[Field, ...], rows: int) -> tuple[pl.DataFrame, pl.DataFrame, P.Pairing]:
    """Stage 1: each side's key hashes (the existing side's key text too) and the pairing; the
    fields ``first`` are read in the same pass (a column is decoded once). ``rows``: both sides'."""
    o = p.orphans
    e_q = P.keyed(p.existing, list(p.existing_keys), text=True, ref=o.existing_ref if o else None, columns={f.name: f.e for f in first})
    b_q = P.keyed(p.blaze, list(p.blaze_keys), text=False, ref=o.blaze_ref if o else None, columns={f.name: f.b for f in first})
    e, b = pl.collect_all([e_q, b_q], engine="streaming" if rows > STREAMING_ROWS else "in-memory")
    pg = P.pair_hashes(e, b)
    if pg is None:  # a hash collision: pair on the key text instead
        pg = P.pair_text(e, P.keyed(p.blaze, list(p.blaze_keys), text=True).collect())
    return e, b, pg


def _orphans(p: Plan, e: pl.DataFrame, b: pl.DataFrame, hashes: dict[tuple[str, str], pl.Series]) -> dict[str, int | None]:
    """Rows whose parent reference is no parent key, per side (the parent's hashes reused)."""
    o = p.orphans
    if o is None:
        return {"existing": None, "blaze": None}
    out: dict[str, int | None] = {}
    for side, frame, parent, key in (("existing", e, o.existing_parent, o.existing_parent_key), ("blaze", b, o.blaze_parent, o.blaze_parent_key)):
        known = hashes.get((side, o.parent))
        if known is None:
            known = P.keyed(parent, [key], text=False).select(P.HASH).collect().to_series()
        out[side] = P.count_orphans(frame.get_column(P.REF), known)
    return out


def _groups(fields: tuple[Field, ...], rows: int) -> list[tuple[Field, ...]]:
    """``fields`` in groups of at most :data:`GROUP_CELLS` values (``rows``: both sides)."""
    size = max(1, GROUP_CELLS // max(rows, 1))
    return [fields[i : i + size] for i in range(0, len(fields), size)] or [()]


def _read(frame: Frame, columns: list[str], rows: int) -> pl.DataFrame:
    """``columns`` of a side (``rows``: both sides', which picks the engine)."""
    return frame.lazy().select(columns).collect(engine="streaming" if rows > STREAMING_ROWS else "in-memory")


@dataclass(frozen=True)
class _Side:
    """Where one side's values for the matched pairs are: a side's columns are read, the rows in
    ``keep`` kept (``None``: all), made one chunk (gathering from one chunk is several times
    faster), and pairs ``i:j`` are rows ``order[i:j]`` of that (``None``: rows ``i:j``).

    Why two ways: when most of a side's rows are matched (customers, transactions), one copy of
    the column and a gather by row is cheapest; when few are (11 M pairs out of 57 M Blaze item
    rows at 100x), a filter first copies only the matched rows, and the gather runs over those
    (the whole column in one chunk cost a copy of every row and a gather missing the cache).
    Rows in pair order (the existing side's always ascend) need no gather: the filter alone
    puts them in order, and pairs are slices (1 M customers at 100x: the copy and the gather
    took twice the filter's time).
    """

    keep: pl.Series | None
    order: np.ndarray | None

    @classmethod
    def of(cls, rows: np.ndarray, height: int) -> _Side:
        """``rows``: the side's row of each pair (the existing side's ascend); ``height``: its rows."""
        ascending = len(rows) < 2 or bool(np.all(rows[1:] > rows[:-1]))  # kept rows are in pair order
        if ascending and len(rows) == height:  # every row, in order
            return cls(None, None)
        if not ascending and len(rows) * 2 >= height:  # mostly matched: gather from the whole column
            return cls(None, rows)
        mask = np.zeros(height, dtype=bool)
        mask[rows] = True
        if ascending:
            return cls(pl.Series(mask), None)
        order = (np.cumsum(mask, dtype=np.int64 if height >= 2**31 else np.int32) - 1)[rows]  # a pair's row among the kept
        return cls(pl.Series(mask), order)

    def values(self, frame: pl.DataFrame) -> pl.DataFrame:
        return (frame if self.keep is None else frame.filter(self.keep)).rechunk()

    def pairs(self, values: pl.DataFrame, start: int, stop: int) -> pl.DataFrame:
        return values.slice(start, stop - start) if self.order is None else P.take(values, self.order[start:stop])


def _compare_table(p: Plan, chunk_rows: int, hashes: dict[tuple[str, str], pl.Series], *, keep: bool) -> tuple[TableResult, pl.DataFrame]:
    """One table: pair on the keys, then classify the fields group by group, in slices of matched pairs."""
    heights = pl.collect_all([p.existing.lazy().select(pl.len()), p.blaze.lazy().select(pl.len())])
    rows = sum(int(h.item()) for h in heights)
    groups = _groups(p.fields, rows)
    e_keys, b_keys, pg = _keys(p, groups[0], rows)
    orphans = _orphans(p, e_keys, b_keys, hashes)
    if keep:  # sorted already when the pairing sorted them (the orphan counts sort them otherwise)
        e_hashes, b_hashes = pg.sorted_hashes or (e_keys.get_column(P.HASH), b_keys.get_column(P.HASH))
        hashes[("existing", p.table.legacy)], hashes[("blaze", p.table.legacy)] = e_hashes, b_hashes
    pg = replace(pg, sorted_hashes=None)  # not held through the fields (57 M Blaze item hashes at 100x)
    per_field: dict[str, list[pl.DataFrame]] = {f.name: [] for f in p.fields}
    e_side, b_side = _Side.of(pg.existing_rows, pg.rows_existing), _Side.of(pg.blaze_rows, pg.rows_blaze)
    for i, group in enumerate(groups):
        if not group:
            break
        if i == 0:  # read with the keys
            e_vals, b_vals = e_side.values(e_keys.select(f.e for f in group)), b_side.values(b_keys.select(f.b for f in group))
            e_keys, b_keys = e_keys.drop(f.e for f in group), None
        else:
            e_vals = e_side.values(_read(p.existing, [f.name for f in group], rows).rename({f.name: f.e for f in group}))
            b_vals = b_side.values(_read(p.blaze, [f.name for f in group], rows).rename({f.name: f.b for f in group}))
        for start in range(0, max(pg.matched, 1), chunk_rows):
            part = slice(start, start + chunk_rows)
            matched = (
                e_side.pairs(e_vals, start, part.stop).hstack(b_side.pairs(b_vals, start, part.stop).get_columns())
            ).with_columns(pl.int_range(start, start + len(pg.existing_rows[part]), dtype=pl.Int64).alias(_PAIR))
            for f, frame in zip(group, _classified(group, matched), strict=True):
                if frame is not None:
                    per_field[f.name].append(frame)
        del e_vals, b_vals
    del b_keys
    listed = _listed(p, e_keys, pg, per_field)
    tally = {(r[0], r[1]): r[2] for r in listed.group_by("field", "kind").len().iter_rows()}
    fields = {}
    for f in p.fields:
        counts = {k: int(tally.get((f.name, k), 0)) for k in K.KINDS if k != K.EQUAL}
        fields[f.name] = FieldCounts(rule=f.rule.name, compared=pg.matched, equal=pg.matched - sum(counts.values()), **counts)
    result = TableResult(
        name=p.table.legacy,
        rows_existing=pg.rows_existing,
        rows_blaze=pg.rows_blaze,
        matched=pg.matched,
        only_existing=pg.rows_existing - pg.matched,
        only_blaze=pg.rows_blaze - pg.matched,
        fields=fields,
        duplicates={"existing": {"keys": pg.existing.keys, "rows": pg.existing.rows}, "blaze": {"keys": pg.blaze.keys, "rows": pg.blaze.rows}},
        null_keys={"existing": pg.existing.null_keys, "blaze": pg.blaze.null_keys},
        orphans=orphans,
        not_compared=p.not_compared,
    )
    return result, listed


def _listed(p: Plan, e_keys: pl.DataFrame, pg: P.Pairing, per_field: dict[str, list[pl.DataFrame]]) -> pl.DataFrame:
    """The table's discrepancy list, field by field in existing row order, each with its key text."""
    parts = [
        pl.concat(frames).with_columns(pl.lit(name).alias("field"))
        for name, frames in per_field.items()
        if frames
    ]  # fmt: skip
    if not parts:
        return pl.DataFrame(schema=DISCREPANCY_SCHEMA)
    found = pl.concat(parts)
    pairs = found.get_column(_PAIR).to_numpy()
    key_text = e_keys.select(P.key_columns(len(p.keys)))
    if len(pairs) * 10 >= key_text.height:  # gathering many rows: from one chunk, several times faster
        key_text = key_text.rechunk()  # (1.1 M customer discrepancies at 100x: 0.08 -> 0.02 s)
    keys = P.take(key_text, pg.existing_rows[pairs]).with_columns(pl.Series(P.POS, pg.positions[pairs]))
    return (
        found.with_columns(keys.select(P.key_text(len(p.keys)).alias("key")).to_series(), pl.lit(p.table.legacy).alias("table"))
        .select(list(DISCREPANCY_SCHEMA))
        .cast(DISCREPANCY_SCHEMA)  # type: ignore[arg-type]
    )


__all__ = ["CHUNK_ROWS", "GROUP_CELLS", "compare"]
