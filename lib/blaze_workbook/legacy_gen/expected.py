"""What the compare must find: the legacy tables against the staged Blaze data, computed.

An implementation of CONTRACTS.md §3's derived fields and §4's kinds written from the contract,
independently of :mod:`blaze_workbook.compare`, so that the manifest is a second opinion and
not a copy of the code it tests. One pass per table, as polars expressions:

- rows meet on the match key (``member_id``, ``transaction_id``, ``product_id``, and
  ``(transaction_id, product_id)`` for items); a key repeated on one side pairs by position in
  frame order (the n-th with the n-th); a key with a NULL never matches;
- each compared field of a matched pair is ``equal`` (equal as stored, or both empty: NULL or
  ``''``), else ``format_only`` when both are missing after normalisation, ``missing_in_blaze``
  / ``missing_in_existing`` when one is, ``format_only`` when the normalised values are the
  same, and ``real`` otherwise;
- normalisations: phone digits (a leading US ``1`` of 11 digits dropped; no digits or only
  zeros is missing), e-mail trimmed and lower-cased, names lower-cased, NFC, whitespace runs
  collapsed and trimmed, other text trimmed (``''`` is missing everywhere), money equal within
  half a cent (strictly), numbers, dates and instants by value;
- the customers' derived fields (and ``last_visited``) are recomputed from the Blaze
  transactions as of the compare's day and compared with the legacy's stale values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl

from ..mapping import CUSTOMERS, DERIVED_FIELDS, TABLES, TRANSACTION_ITEMS, TRANSACTIONS, Table
from ..setup_sql import MetricsRules

DEC = pl.Decimal(38, 10)
UTC = pl.Datetime("us", "UTC")
KINDS = ("equal", "format_only", "real", "missing_in_blaze", "missing_in_existing")
MISMATCH = ("real", "missing_in_blaze", "missing_in_existing")
#: the match key of each table (staging names) and, for the legacy side, where it lives
MATCH: dict[str, tuple[str, ...]] = {"transaction_items": ("transaction_id", "product_id")}
#: child table -> (reference column, parent table, parent key)
PARENTS: dict[str, tuple[str, str, str]] = {
    "transactions": ("customer_id", "customers", "member_id"),
    "transaction_items": ("transaction_id", "transactions", "transaction_id"),
}
_RULE_BY_KIND = {"text": "text", "name": "name", "money": "money", "numeric": "numeric", "bool": "bool",
                 "epoch_ms": "instant", "local_date": "date", "lookup": "text"}  # fmt: skip
_RULE_BY_FIELD = {"customers.name": "name", "customers.phone": "phone", "customers.email": "email", "transactions.date": "instant"}
_DERIVED_RULE = {"integer": "numeric", "numeric": "money", "date": "date", "text": "text"}
_DTYPE = {"text": pl.String(), "name": pl.String(), "phone": pl.String(), "email": pl.String(), "money": DEC,
          "numeric": DEC, "date": pl.Date(), "instant": UTC, "bool": pl.Boolean()}  # fmt: skip


# --- derived fields ----------------------------------------------------------------------------


def derived(members: pl.Series, tx: pl.DataFrame, *, as_of: date, tz: str, rules: MetricsRules | None = None, avg_in_cents: bool = False) -> pl.DataFrame:
    """CONTRACTS.md §3's derived fields for each id of ``members`` from ``tx``.

    ``tx`` holds ``customer_id, trans_type, blaze_status, total_amount, date`` (staging names).
    ``avg_in_cents``: ``avg_sale_value`` rounded half-up to the cent, as the reports printed it.
    """
    r = rules or MetricsRules()
    sale = ((pl.col("trans_type") == "Sale") & (pl.col("blaze_status") == "Completed")).fill_null(False)
    refund = (pl.col("trans_type") == "Refund").fill_null(False) | pl.col("blaze_status").str.starts_with("Refund").fill_null(False)
    day = pl.col("date").dt.convert_time_zone(tz).dt.date()
    facts = tx.select(pl.col("customer_id").alias("member_id"), sale.alias("_s"), refund.alias("_r"), pl.col("total_amount").cast(DEC).alias("_a"), day.alias("_d"))
    per = facts.filter(pl.col("_s") | pl.col("_r")).group_by("member_id").agg(
        total_visits=pl.col("_d").filter(pl.col("_s")).drop_nulls().n_unique().cast(pl.Int64),
        total_sales=pl.col("_s").sum().cast(pl.Int64),
        total_refunds=pl.col("_r").sum().cast(pl.Int64),
        gross_sales=pl.col("_a").filter(pl.col("_s")).sum().cast(DEC),
        gross_refunds=pl.col("_a").filter(pl.col("_r")).abs().sum().cast(DEC),
        last_visited=pl.col("_d").filter(pl.col("_s")).max(),
    )
    out = (
        pl.DataFrame({"member_id": members.cast(pl.String)})
        .join(per, on="member_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("total_visits", "total_sales", "total_refunds").fill_null(0),
            pl.col("gross_sales", "gross_refunds").fill_null(pl.lit(0, dtype=DEC)),
        )
        .with_columns(lifetime_value=pl.col("gross_sales") - pl.col("gross_refunds"))
    )
    if avg_in_cents:
        cents = (pl.col("gross_sales") * 100).cast(pl.Int64)
        n = pl.col("total_sales")
        avg = ((2 * cents + n) // (2 * n)).cast(DEC) / 100
    else:
        avg = pl.col("gross_sales") / pl.col("total_sales")
    days = (pl.lit(as_of, dtype=pl.Date) - pl.col("last_visited")).dt.total_days().cast(pl.Int64)
    visits = pl.col("total_visits")
    vip = pl.when(visits >= r.vip).then(pl.lit("VIP")).when(visits >= r.regular).then(pl.lit("Regular")).when(visits >= r.casual).then(pl.lit("Casual")).otherwise(pl.lit("New"))
    d = pl.col("days_since_last_visit")
    churn = pl.when(d.is_null()).then(pl.lit(None, pl.String)).when(d > r.churn_high).then(pl.lit("High")).when(d >= r.churn_medium).then(pl.lit("Medium")).otherwise(pl.lit("Low"))
    return (
        out.with_columns(avg_sale_value=pl.when(pl.col("total_sales") > 0).then(avg).cast(DEC), days_since_last_visit=days, vip_status=vip)
        .with_columns(churn_risk=churn)
        .select("member_id", *DERIVED_FIELDS)
    )


# --- normalisation and kinds -------------------------------------------------------------------


def _blank_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e == "").then(None).otherwise(e)


def normalise(rule: str, e: pl.Expr) -> pl.Expr:
    """A value's normalised form; NULL means missing."""
    if rule == "text":
        return _blank_null(e.str.strip_chars())
    if rule == "name":
        return _blank_null(e.str.to_lowercase().str.normalize("NFC").str.replace_all(r"\s+", " ").str.strip_chars())
    if rule == "email":
        return _blank_null(e.str.strip_chars().str.to_lowercase())
    if rule == "phone":
        digits = e.str.replace_all(r"\D", "")
        national = pl.when((digits.str.len_chars() == 11) & digits.str.starts_with("1")).then(digits.str.slice(1)).otherwise(digits)
        return pl.when(national.str.contains(r"^0*$")).then(None).otherwise(national)
    return e


def same(rule: str, a: pl.Expr, b: pl.Expr) -> pl.Expr:
    if rule == "money":
        return (a - b).abs() < pl.lit(Decimal("0.005"), dtype=pl.Decimal(38, 3))
    return a == b


def kind(rule: str, e: pl.Expr, b: pl.Expr, e_blank: pl.Expr, b_blank: pl.Expr) -> pl.Expr:
    ne, nb = normalise(rule, e), normalise(rule, b)
    return (
        pl.when((e_blank & b_blank) | (e == b).fill_null(False)).then(pl.lit("equal"))
        .when(ne.is_null() & nb.is_null()).then(pl.lit("format_only"))
        .when(nb.is_null()).then(pl.lit("missing_in_blaze"))
        .when(ne.is_null()).then(pl.lit("missing_in_existing"))
        .when(same(rule, ne, nb).fill_null(False)).then(pl.lit("format_only"))
        .otherwise(pl.lit("real"))
    )  # fmt: skip


def rule_of(t: Table, legacy_field: str, kind_: str | None) -> str:
    key = f"{t.legacy}.{legacy_field}"
    if key in _RULE_BY_FIELD:
        return _RULE_BY_FIELD[key]
    if t is CUSTOMERS and legacy_field in DERIVED_FIELDS:
        return _DERIVED_RULE[DERIVED_FIELDS[legacy_field]]
    return _RULE_BY_KIND[kind_ or "text"]


def fields_of(t: Table, legacy_columns: list[str]) -> dict[str, tuple[str, str]]:
    """Compared fields: legacy name -> (staging name, rule), in the mapping's order."""
    keys = set(MATCH.get(t.legacy, (t.key,)))
    out = {c.legacy: (c.name, rule_of(t, c.legacy, c.kind)) for c in t.compared if c.name not in keys and c.legacy in legacy_columns}
    if t is CUSTOMERS:
        out |= {f: (f, rule_of(t, f, None)) for f in DERIVED_FIELDS if f in legacy_columns}
    return out


# --- one table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableExpectation:
    """One table's expected counts (compare_summary shape) and its non-equal pairs."""

    name: str
    counts: dict
    #: table, key, field, kind (field NULL for row-level kinds)
    rows: pl.DataFrame


ROW_SCHEMA = {"table": pl.String(), "key": pl.String(), "field": pl.String(), "kind": pl.String()}


def positions(frame: pl.DataFrame, keys: list[str], dup: pl.Series | None = None) -> pl.Series:
    """0 for the first row of each key, 1 for the second … in frame order (a window only over
    the rows whose key repeats: usually a handful). ``dup``: which keys repeat, if known."""
    if dup is None:
        dup = frame.select(pl.struct(keys).is_duplicated()).to_series()
    pos = np.zeros(frame.height, dtype=np.uint32)
    if dup.any():
        idx = np.nonzero(dup.to_numpy())[0]
        pos[idx] = frame[idx].select(pl.int_range(pl.len(), dtype=pl.UInt32).over(keys)).to_series().to_numpy()
    return pl.Series("_pos", pos)


def _keyed(frame: pl.DataFrame, keys: tuple[str, ...], sources: tuple[str, ...]) -> pl.DataFrame:
    renamed = frame.with_columns(pl.col(s).cast(pl.String).alias(f"_k_{k}") for k, s in zip(keys, sources, strict=True))
    kcols = [f"_k_{k}" for k in keys]
    dup = renamed.select(pl.struct(kcols).is_duplicated()).to_series().alias("_dup")
    return renamed.with_columns(positions(renamed, kcols, dup), dup, pl.any_horizontal(pl.col(c).is_null() for c in kcols).alias("_null"))


def _key_stats(frame: pl.DataFrame) -> dict:
    """Repeated keys (NULL keys aside), the rows holding them, and the rows with a NULL key."""
    dup = pl.col("_dup") & ~pl.col("_null")
    row = frame.select(
        dup.sum().alias("rows"), (dup & (pl.col("_pos") == 0)).sum().alias("keys"), pl.col("_null").sum().alias("null_keys")
    ).row(0, named=True)
    return {k: int(v) for k, v in row.items()}


def _key_text(keys: tuple[str, ...]) -> pl.Expr:
    joined = pl.concat_str([pl.col(f"_k_{k}").fill_null("∅") for k in keys], separator="|")
    return pl.when(pl.col("_pos") > 0).then(pl.concat_str([joined, (pl.col("_pos") + 1).cast(pl.String)], separator="#")).otherwise(joined)


def _as(frame: pl.DataFrame, col: str, rule: str) -> pl.Expr:
    dtype = _DTYPE[rule]
    src = frame.schema[col]
    e = pl.col(col)
    if dtype == pl.String():
        return e.cast(pl.String)
    if isinstance(src, pl.Datetime):
        return (e.dt.convert_time_zone("UTC") if src.time_zone else e.dt.replace_time_zone("UTC")).cast(UTC)
    return e.cast(dtype)


def table(t: Table, existing: pl.DataFrame, blaze: pl.DataFrame, parents: Mapping[str, tuple[pl.DataFrame, pl.DataFrame]] | None = None) -> TableExpectation:
    """Compare one table; ``parents``: the parent table's (existing, blaze) frames, for orphans."""
    keys = MATCH.get(t.legacy, (t.key,))
    sources = tuple(t.legacy_key if k == t.key else (t.column(k).legacy or k) for k in keys)
    fields = fields_of(t, list(existing.columns))
    fields = {f: v for f, v in fields.items() if v[0] in blaze.columns}
    e = _keyed(existing, keys, sources)
    b = _keyed(blaze, keys, keys)
    on = [*(f"_k_{k}" for k in keys), "_pos"]
    e_side = e.select(*on, *(_as(existing, f, rule).alias(f"e:{f}") for f, (_, rule) in fields.items()), pl.lit(True).alias("_in_e"))
    b_side = b.select(*on, *(_as(blaze, s, rule).alias(f"b:{f}") for f, (s, rule) in fields.items()), pl.lit(True).alias("_in_b"))
    j = e_side.join(b_side, on=on, how="full", coalesce=True, nulls_equal=False, maintain_order="left_right")
    matched = pl.col("_in_e").is_not_null() & pl.col("_in_b").is_not_null()
    kinds = []
    for f, (_, rule) in fields.items():
        blank_e = pl.col(f"e:{f}").is_null() | ((pl.col(f"e:{f}") == "") if _DTYPE[rule] == pl.String() else pl.lit(False))
        blank_b = pl.col(f"b:{f}").is_null() | ((pl.col(f"b:{f}") == "") if _DTYPE[rule] == pl.String() else pl.lit(False))
        kinds.append(pl.when(matched).then(kind(rule, pl.col(f"e:{f}"), pl.col(f"b:{f}"), blank_e, blank_b)).alias(f"k:{f}"))
    j = j.with_columns(kinds).with_columns(_key_text(keys).alias("_key"))
    tally = j.select(
        pl.col("_in_e").is_not_null().sum().alias("rows_existing"),
        pl.col("_in_b").is_not_null().sum().alias("rows_blaze"),
        matched.sum().alias("matched"),
        *((pl.col(f"k:{f}") == k).sum().alias(f"{k}:{f}") for f in fields for k in KINDS),
    ).row(0, named=True)
    n = int(tally["matched"])
    field_counts = {}
    for f, (_, rule) in fields.items():
        c = {k: int(tally[f"{k}:{f}"]) for k in KINDS}
        mism = sum(c[k] for k in MISMATCH)
        field_counts[f] = {"compared": n, "mismatched": mism, "rate": mism / n if n else 0.0, "real": c["real"],
                           "missing_in_blaze": c["missing_in_blaze"], "missing_in_existing": c["missing_in_existing"],
                           "format_only": c["format_only"], "equal": c["equal"], "rule": rule}  # fmt: skip
    long = (
        j.filter(matched)
        .select(pl.col("_key").alias("key"), *(pl.col(f"k:{f}").alias(f) for f in fields))
        .unpivot(index="key", variable_name="field", value_name="kind")
    )  # one pass over the pairs; field by field, each in join order
    parts = [long.filter(pl.col("kind") != "equal").select(pl.lit(t.legacy).alias("table"), "key", "field", "kind")] if fields else []
    parts.append(j.filter(pl.col("_in_e").is_not_null() & pl.col("_in_b").is_null()).select(
        pl.lit(t.legacy).alias("table"), pl.col("_key").alias("key"), pl.lit(None, pl.String).alias("field"), pl.lit("only_existing").alias("kind")))
    parts.append(j.filter(pl.col("_in_e").is_null() & pl.col("_in_b").is_not_null()).select(
        pl.lit(t.legacy).alias("table"), pl.col("_key").alias("key"), pl.lit(None, pl.String).alias("field"), pl.lit("only_blaze").alias("kind")))
    orphans: dict[str, int | None] = {"existing": None, "blaze": None}
    if parents is not None and t.legacy in PARENTS:
        ref, parent, pkey = PARENTS[t.legacy]
        pt = next(x for x in TABLES if x.legacy == parent)
        e_ref = t.column(ref).legacy or ref
        e_pkey = pt.legacy_key if pkey == pt.key else pkey
        pe, pb = parents[parent]
        e_orph = e.filter(pl.col(e_ref).is_not_null() & ~pl.col(e_ref).is_in(pe[e_pkey].implode()))
        b_orph = blaze.filter(pl.col(ref).is_not_null() & ~pl.col(ref).is_in(pb[pkey].implode()))
        orphans = {"existing": e_orph.height, "blaze": b_orph.height}
        parts.append(e_orph.select(
            pl.lit(t.legacy).alias("table"), _key_text(keys).alias("key"), pl.lit(e_ref).alias("field"), pl.lit("orphan").alias("kind")))
    stats_e, stats_b = _key_stats(e), _key_stats(b)
    counts = {
        "rows_existing": int(tally["rows_existing"]), "rows_blaze": int(tally["rows_blaze"]), "matched": n,
        "only_existing": int(tally["rows_existing"]) - n, "only_blaze": int(tally["rows_blaze"]) - n,
        "fields": field_counts,
        "duplicates": {"existing": {"keys": stats_e["keys"], "rows": stats_e["rows"]}, "blaze": {"keys": stats_b["keys"], "rows": stats_b["rows"]}},
        "null_keys": {"existing": stats_e["null_keys"], "blaze": stats_b["null_keys"]},
        "orphans": orphans,
    }  # fmt: skip
    rows = pl.concat([p.cast(ROW_SCHEMA) for p in parts])
    return TableExpectation(t.legacy, counts, rows)


def expect(existing: Mapping[str, pl.DataFrame], blaze: Mapping[str, pl.DataFrame], *, as_of: date, tz: str, rules: MetricsRules | None = None) -> dict[str, TableExpectation]:
    """Every table: the Blaze customers get the derived fields recomputed from Blaze transactions."""
    bc = blaze["customers"]
    metrics = derived(bc["member_id"], blaze["transactions"], as_of=as_of, tz=tz, rules=rules)
    bc = bc.drop([c for c in DERIVED_FIELDS if c in bc.columns]).join(metrics, on="member_id", how="left", maintain_order="left")
    b = dict(blaze) | {"customers": bc}
    parents = {name: (existing[name], b[name]) for name in ("customers", "transactions")}
    return {t.legacy: table(t, existing[t.legacy], b[t.legacy], parents if t in (TRANSACTIONS, TRANSACTION_ITEMS) else None) for t in TABLES}


__all__ = ["KINDS", "MISMATCH", "TableExpectation", "derived", "expect", "fields_of", "kind", "normalise", "rule_of", "table"]
