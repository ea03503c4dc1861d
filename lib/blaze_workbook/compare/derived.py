"""The derived customer fields of CONTRACTS.md §3, recomputed from Blaze transactions.

The same definitions as the Postgres view ``customers_blaze_metrics``
(:func:`blaze_workbook.setup_sql.metrics_select`), with the same parameters
(:class:`~blaze_workbook.setup_sql.MetricsRules`: shop time zone, tier and churn bounds), as one
polars plan. The compare computes them *as of* a date instead of "today", so a run can be
repeated for the day it describes; every transaction staged is counted (none is filtered by
``as_of``), exactly as the view does.

- a *completed sale*: ``trans_type = 'Sale'`` and ``blaze_status = 'Completed'``;
- a *refund*: ``trans_type = 'Refund'`` or a ``blaze_status`` starting with ``Refund``;
- a *visit* is a shop-local calendar day with a completed sale (an evening sale whose UTC date
  is the next day counts on its local day).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..mapping import CUSTOMERS, DERIVED_FIELDS, TRANSACTIONS
from ..setup_sql import MetricsRules
from .coerce import DECIMAL, as_stored
from .hash_order import hash_order
from .local_day import local_day

Frame = pl.DataFrame | pl.LazyFrame
_KEY = CUSTOMERS.key
_CUSTOMER = TRANSACTIONS.column("customer_id").name
_DATE = TRANSACTIONS.column("date").name
_AMOUNT = TRANSACTIONS.column("total_amount").name
_STATUS = TRANSACTIONS.column("blaze_status").name
_TYPE = TRANSACTIONS.column("trans_type").name
_H, _C = "_h", "_c"
_SEED, _CHECK_SEED = 0x5EED, 0xC0FFEE
#: the polars type of each derived field
SCHEMA: dict[str, pl.DataType] = {
    name: {"integer": pl.Int64(), "numeric": DECIMAL, "date": pl.Date(), "text": pl.String()}[pg]
    for name, pg in DERIVED_FIELDS.items()
}


def is_sale(trans_type: pl.Expr, status: pl.Expr) -> pl.Expr:
    """A completed sale."""
    return ((trans_type == "Sale") & (status == "Completed")).fill_null(False)


def is_refund(trans_type: pl.Expr, status: pl.Expr) -> pl.Expr:
    """A refund, by type or by status."""
    return ((trans_type == "Refund").fill_null(False) | status.str.starts_with("Refund").fill_null(False))


def vip_status(visits: pl.Expr, rules: MetricsRules) -> pl.Expr:
    """``VIP`` / ``Regular`` / ``Casual`` / ``New`` by visit count (bounds inclusive from below)."""
    return (
        pl.when(visits >= rules.vip)
        .then(pl.lit("VIP"))
        .when(visits >= rules.regular)
        .then(pl.lit("Regular"))
        .when(visits >= rules.casual)
        .then(pl.lit("Casual"))
        .otherwise(pl.lit("New"))
    )


def churn_risk(days: pl.Expr, rules: MetricsRules) -> pl.Expr:
    """``High`` above ``churn_high`` days, ``Medium`` from ``churn_medium``, else ``Low``; NULL never."""
    return (
        pl.when(days.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(days > rules.churn_high)
        .then(pl.lit("High"))
        .when(days >= rules.churn_medium)
        .then(pl.lit("Medium"))
        .otherwise(pl.lit("Low"))
    )


def _local_day(frame: pl.LazyFrame, tz: str) -> pl.Expr:
    dtype = frame.collect_schema()[_DATE]
    return local_day(as_stored(pl.col(_DATE), dtype, "instant"), frame, tz)


def _facts(transactions: pl.LazyFrame, rules: MetricsRules) -> pl.LazyFrame:
    """Per counted transaction (sale or refund): the member key, whether it is a sale or a
    refund, its amount and its shop-local day (:func:`_counted` makes the values counted)."""
    amount_type = transactions.collect_schema()[_AMOUNT]
    return transactions.select(
        pl.col(_CUSTOMER).cast(pl.String).alias(_KEY),
        is_sale(pl.col(_TYPE), pl.col(_STATUS)).alias("_sale"),
        is_refund(pl.col(_TYPE), pl.col(_STATUS)).alias("_refund"),
        as_stored(pl.col(_AMOUNT), amount_type, "decimal").alias("_amount"),
        _local_day(transactions, rules.timezone).alias("_day"),
    ).filter(pl.col("_sale") | pl.col("_refund"))


def _counted() -> list[pl.Expr]:
    """The filtered values as columns (NULL where not counted): the aggregations are then plain
    ones, several times cheaper per group than a filter inside the aggregation."""
    sale, refund = pl.col("_sale"), pl.col("_refund")
    return [
        pl.when(sale).then(pl.col("_amount")).alias("_sale_amount"),
        pl.when(refund).then(pl.col("_amount").abs()).alias("_refund_amount"),
        pl.when(sale).then(pl.col("_day")).alias("_sale_day"),
    ]


def _per_member() -> dict[str, pl.Expr]:
    """The aggregations of one member's facts."""
    sale_day = pl.col("_sale_day")
    return {
        # distinct sale days; n_unique counts NULL as a value of its own
        "total_visits": (sale_day.n_unique() - (sale_day.null_count() > 0).cast(pl.UInt32)).cast(pl.Int64),
        "total_sales": pl.col("_sale").sum().cast(pl.Int64),
        "total_refunds": pl.col("_refund").sum().cast(pl.Int64),
        "gross_sales": pl.col("_sale_amount").sum().cast(DECIMAL),
        "gross_refunds": pl.col("_refund_amount").sum().cast(DECIMAL),
        "last_visited": sale_day.max(),
    }


def _finish(joined: pl.LazyFrame, *, as_of: date, rules: MetricsRules) -> pl.LazyFrame:
    """Members joined with their aggregations (NULL: no facts) -> the key and every derived field."""
    zero = {"total_visits": 0, "total_sales": 0, "total_refunds": 0}
    days = (pl.lit(as_of, dtype=pl.Date) - pl.col("last_visited")).dt.total_days().cast(pl.Int64)
    return (
        joined.with_columns(
            *(pl.col(k).fill_null(v) for k, v in zero.items()),
            pl.col("gross_sales").fill_null(pl.lit(0, dtype=DECIMAL)),
            pl.col("gross_refunds").fill_null(pl.lit(0, dtype=DECIMAL)),
        )
        .with_columns(
            lifetime_value=pl.col("gross_sales") - pl.col("gross_refunds"),
            avg_sale_value=pl.when(pl.col("total_sales") > 0).then(pl.col("gross_sales") / pl.col("total_sales")),
            days_since_last_visit=days,
            vip_status=vip_status(pl.col("total_visits"), rules),
        )
        .with_columns(churn_risk=churn_risk(pl.col("days_since_last_visit"), rules))
        .select(_KEY, *(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items()))
    )


def _member_keys(members: Frame) -> pl.LazyFrame:
    return members.lazy().select(pl.col(_KEY).cast(pl.String)).unique(maintain_order=True)


def metrics_plan(members: Frame, transactions: Frame, *, as_of: date, rules: MetricsRules | None = None) -> pl.LazyFrame:
    """One row per member of ``members`` (its ``member_id``): the key and every derived field.

    The plain plan: a group-by on the member key's text. :func:`derived_metrics` gives the same
    rows faster on large inputs.
    """
    rules = rules or MetricsRules()
    per_member = _facts(transactions.lazy(), rules).select(_KEY, "_sale", "_refund", *_counted()).group_by(_KEY).agg(**_per_member())
    return _finish(_member_keys(members).join(per_member, on=_KEY, how="left", maintain_order="left"), as_of=as_of, rules=rules)


def _hashes(key: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Two independent 64-bit hashes of the member key's text; NULL for a NULL key (never joined)."""
    return tuple(pl.when(key.is_not_null()).then(key.hash(seed)).alias(name) for seed, name in ((_SEED, _H), (_CHECK_SEED, _C)))  # type: ignore[return-value]


def _by_hash(members: Frame, transactions: Frame, *, as_of: date, rules: MetricsRules) -> pl.DataFrame | None:
    """:func:`metrics_plan`'s rows, grouped on a 64-bit hash of the member key in hash order, or
    ``None`` when a second, independent hash disagrees anywhere (a collision).

    Why: a group-by on the text of 1 M member keys over 19 M transactions at 100x cost 20-35 s,
    most of it hashing and probing strings per aggregation. Here each transaction's key is
    hashed once as it is read (its text is not kept), the facts are put in hash order
    (:func:`.hash_order.hash_order`: one sort of plain words) and every group is a
    contiguous slice, which polars aggregates without a hash table (1 M members, 19 M
    transactions: the group-by 3 s instead of 16-35 s at load 7-10; ordering and gathering the
    facts cost about as much again).
    """
    facts = (
        _facts(transactions.lazy(), rules)
        .with_columns(*_hashes(pl.col(_KEY)))
        .filter(pl.col(_H).is_not_null())
        .drop(_KEY)
        .collect()
    )
    rows, ordered = hash_order(facts.get_column(_H))
    # one chunk, then a gather of the fewest columns (the counted values are made after it)
    in_order = (
        facts.drop(_H)
        .rechunk()
        .select(pl.all().gather(pl.Series(rows, dtype=pl.UInt32 if len(rows) < 2**32 else pl.UInt64)))
        .select(pl.Series(_H, ordered, dtype=pl.UInt64).set_sorted(), _C, "_sale", "_refund", *_counted())
    )
    del facts, rows, ordered
    check = pl.col(_C)
    per_member = in_order.group_by(_H, maintain_order=True).agg(check.min().alias("_c_min"), check.max().alias("_c_max"), **_per_member())
    del in_order
    if (per_member.get_column("_c_min") != per_member.get_column("_c_max")).any():
        return None
    joined = _member_keys(members).with_columns(*_hashes(pl.col(_KEY))).collect().join(per_member, on=_H, how="left", maintain_order="left")
    if (joined.get_column(_C) != joined.get_column("_c_min")).any():  # NULL (no facts) is not a disagreement
        return None
    return _finish(joined.lazy(), as_of=as_of, rules=rules).collect()


def derived_metrics(members: Frame, transactions: Frame, *, as_of: date, rules: MetricsRules | None = None) -> pl.DataFrame:
    """The derived customer fields as a frame: :func:`metrics_plan`'s rows, grouped on member key
    hashes in hash order (:func:`_by_hash`), or by the key text should two hashes disagree."""
    rules = rules or MetricsRules()
    found = _by_hash(members, transactions, as_of=as_of, rules=rules)
    return found if found is not None else metrics_plan(members, transactions, as_of=as_of, rules=rules).collect()


__all__ = ["SCHEMA", "churn_risk", "derived_metrics", "is_refund", "is_sale", "metrics_plan", "vip_status"]
