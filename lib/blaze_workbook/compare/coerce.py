"""Values "as stored": each side's column read into the type its rule compares in.

Inputs come typed (Postgres, parquet, DuckDB) or as text (CSV exports). Either way a value is
compared as the database holds it: text byte for byte, numbers by value as decimals (a decimal
column as it is; text, integers and floats as ``Decimal(38, 10)``; ``12.5`` and ``12.50`` are
the same number), dates by day, timestamps by instant in UTC (a
timestamp without a zone is read as UTC), booleans by truth. Text that does not parse as the
type is an :class:`~blaze_workbook.errors.InputDataError` (see :func:`unparsed`), never silently
a missing value.
"""

from __future__ import annotations

import polars as pl

from .normalize import Dtype

#: numbers are compared as this type: 28 integer digits, 10 decimals
DECIMAL = pl.Decimal(38, 10)
INSTANT = pl.Datetime("us", "UTC")
_TRUE = ("t", "true", "1", "yes", "y")
_FALSE = ("f", "false", "0", "no", "n")
_INSTANT_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
)
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d")


def _from_text(expr: pl.Expr, dtype: Dtype) -> pl.Expr:
    s = expr.str.strip_chars()
    if dtype == "decimal":
        return s.str.to_decimal(scale=10)
    if dtype == "date":
        return pl.coalesce(s.str.to_date("%Y-%m-%d", strict=False), s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
    if dtype == "instant":
        aware = [s.str.to_datetime(f, time_unit="us", time_zone="UTC", strict=False) for f in _INSTANT_FORMATS]
        naive = [s.str.to_datetime(f, time_unit="us", strict=False).dt.replace_time_zone("UTC") for f in _NAIVE_FORMATS]
        return pl.coalesce(*aware, *naive)
    if dtype == "bool":
        low = s.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
    return expr


def as_stored(expr: pl.Expr, source: pl.DataType, dtype: Dtype) -> pl.Expr:
    """``expr`` (of polars type ``source``) as a value of the rule type ``dtype``."""
    if dtype == "text":
        return expr if source == pl.String else expr.cast(pl.String)
    if source == pl.String:
        return _from_text(expr, dtype)
    if source == pl.Null:
        return expr.cast({"decimal": DECIMAL, "date": pl.Date, "instant": INSTANT, "bool": pl.Boolean}[dtype])
    if dtype == "decimal":
        if isinstance(source, pl.Decimal):
            return expr  # already exact; decimals of any scale compare by value
        return (expr.round(10) if source.is_float() else expr).cast(DECIMAL)
    if dtype == "date":
        return expr.dt.date() if isinstance(source, pl.Datetime) else expr.cast(pl.Date)
    if dtype == "instant":
        if isinstance(source, pl.Datetime):
            zoned = expr.dt.convert_time_zone("UTC") if source.time_zone else expr.dt.replace_time_zone("UTC")
            return zoned.cast(INSTANT)
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype == "bool":
        return expr if source == pl.Boolean else expr.cast(pl.Boolean)
    raise AssertionError(dtype)


def is_blank(raw: pl.Expr, source: pl.DataType) -> pl.Expr:
    """Empty as stored: NULL, or an empty string (Blaze's ``''`` may be either)."""
    if source == pl.String:
        return raw.is_null() | (raw == "")
    return raw.is_null()


def unparsed(raw: pl.Expr, typed: pl.Expr, source: pl.DataType, dtype: Dtype) -> pl.Expr:
    """True where text held something that did not parse as ``dtype`` (a data error)."""
    if source != pl.String or dtype == "text":
        return pl.lit(False)
    return typed.is_null() & (raw.str.strip_chars() != "").fill_null(False)


def display(expr: pl.Expr, dtype: Dtype) -> pl.Expr:
    """A value as text for the discrepancy list: numbers without trailing zeros, ISO dates."""
    if dtype == "text":
        return expr
    if dtype == "decimal":  # trailing zeros of the fraction, then a bare point, dropped (no regex: cheap)
        text = expr.cast(pl.String)
        return pl.when(text.str.contains(".", literal=True)).then(text.str.strip_chars_end("0").str.strip_chars_end(".")).otherwise(text)
    if dtype == "instant":
        return expr.dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
    if dtype == "date":
        return expr.dt.to_string("%Y-%m-%d")
    return expr.cast(pl.String)


__all__ = ["DECIMAL", "INSTANT", "as_stored", "display", "is_blank", "unparsed"]
