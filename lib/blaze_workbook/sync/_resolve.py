"""Look-up columns and shop-local dates, resolved when read rather than when decoded.

A transaction may arrive before the employee who sold it, and ``/store`` (the shop's time
zone) may be fetched after the members: decoded frames therefore keep the ids (``_ref_*``)
and epoch milliseconds (``_ms_*``) those columns come from, and :func:`resolve` fills them
with whatever is known at the time of reading.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ..errors import ConfigurationError
from ..mapping import Table
from ._schema import aux_ms, aux_ref
from ._types import check_timezone, local_date, plan_for


def shop_timezone(lookups: Mapping[str, pl.DataFrame] | None, fallback: str) -> str:
    """The shop's ``timeZone`` from the ``shop`` look-up (the last one seen), else ``fallback``."""
    shop = (lookups or {}).get("shop")
    if shop is not None and "time_zone" in shop.columns:
        for zone in reversed([z for z in shop.get_column("time_zone").to_list() if z]):
            try:
                return check_timezone(zone)
            except ConfigurationError:
                continue
    return check_timezone(fallback)


def resolve(frame: pl.DataFrame, table: Table, lookups: Mapping[str, pl.DataFrame], timezone: str) -> pl.DataFrame:
    """Fill look-up columns and re-date shop-local dates from the bookkeeping columns.

    A look-up column with a value of its own (``brandName``, ``category.name``) keeps it; one
    that is empty takes the look-up's name for its ``_ref_`` id (or keeps its ``""`` when the id
    is unknown); a pure look-up column (``staff_name``, ``shop_location``, ``vendor_name``) is
    the look-up's name or NULL. Expects a frame as decoded without look-ups.
    """
    check_timezone(timezone)
    plan = plan_for(table)
    out = frame
    for col in plan.ref_columns:
        assert col.lookup_table is not None
        ref = aux_ref(col.name)
        lk = lookups.get(col.lookup_table)
        own = pl.when(pl.col(col.name) != "").then(pl.col(col.name)) if col.paths else pl.lit(None, pl.String())
        found = pl.lit(None, pl.String())
        if lk is not None and not lk.is_empty():
            names = (
                lk.select(pl.col("id").cast(pl.String).alias(ref), pl.col("name").cast(pl.String).alias("__lookup"))
                .filter(pl.col(ref).is_not_null())
                .unique(subset=ref, keep="last", maintain_order=True)
            )
            out = out.join(names, on=ref, how="left", maintain_order="left")
            found = pl.col("__lookup")
        fallback = pl.col(col.name) if col.paths else pl.lit(None, pl.String())
        out = out.with_columns(pl.coalesce(own, found, fallback).alias(col.name))
        if "__lookup" in out.columns:
            out = out.drop("__lookup")
    if plan.local_dates:
        out = out.with_columns(local_date(pl.col(aux_ms(c.name)), timezone).alias(c.name) for c in plan.local_dates)
    return out.select(frame.columns)
