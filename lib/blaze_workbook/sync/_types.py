"""The polars types of decoded frames, per mapping ``kind``, and the expressions they share."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from ..errors import ConfigurationError
from ..mapping import Table
from ._schema import ENTITY_PLANS, TablePlan, aux_ms, aux_ref

#: exact decimal types: money keeps sub-cent tax amounts (``calcTax`` 13.1763); quantities,
#: points and potency get more digits. Values with more fraction digits are rounded (counted).
MONEY = pl.Decimal(38, 6)
NUMERIC = pl.Decimal(38, 10)
#: epoch milliseconds as UTC instants, in the unit DuckDB and Postgres keep
TIMESTAMP = pl.Datetime("us", time_zone="UTC")
_DTYPES: dict[str, pl.DataType] = {
    "text": pl.String(),
    "name": pl.String(),
    "lookup": pl.String(),
    "money": MONEY,
    "numeric": NUMERIC,
    "bool": pl.Boolean(),
    "epoch_ms": TIMESTAMP,
    "local_date": pl.Date(),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "entity": pl.String(),
    "record_id": pl.String(),
    "reason": pl.String(),
    "payload": pl.String(),
}
LOOKUP_SCHEMA: dict[str, pl.DataType] = {"id": pl.String(), "name": pl.String(), "time_zone": pl.String(), "opened_ms": pl.Int64()}


def dtype(kind: str) -> pl.DataType:
    """The polars type of a mapping ``kind``."""
    return _DTYPES[kind]


def plan_for(table: Table) -> TablePlan:
    """The decode plan of a mapped table."""
    for entity_plans in ENTITY_PLANS.values():
        for p in entity_plans:
            if p.table.staging == table.staging:
                return p
    raise ConfigurationError(f"no decode plan for {table.staging}")


def frame_schema(table: Table) -> dict[str, pl.DataType]:
    """Columns of a decoded frame: the staging columns, then the bookkeeping ones."""
    plan = plan_for(table)
    schema = {c.name: dtype(c.kind) for c in table.columns}
    schema.update({aux_ref(p.name): pl.String() for p in plan.ref_columns})
    schema.update({aux_ms(p.name): pl.Int64() for p in plan.local_dates})
    schema["_modified_ms"] = pl.Int64()
    return schema


def check_timezone(timezone: str) -> str:
    """``timezone`` if it is an IANA name, else :class:`ConfigurationError`."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"unknown time zone {timezone!r}", hint="use an IANA name such as America/Los_Angeles") from exc
    return timezone


def local_date(epoch_ms: pl.Expr, timezone: str) -> pl.Expr:
    """Epoch milliseconds -> the calendar date in ``timezone``."""
    return pl.from_epoch(epoch_ms, time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(timezone).dt.date()


def utc_instant(epoch_ms: pl.Expr) -> pl.Expr:
    """Epoch milliseconds -> a UTC timestamp."""
    return pl.from_epoch(epoch_ms, time_unit="ms").dt.replace_time_zone("UTC").cast(TIMESTAMP)


def person_name(*parts: pl.Expr) -> pl.Expr:
    """``firstName + ' ' + lastName``: trimmed, runs of whitespace as one space, empty as NULL."""
    joined = pl.concat_str(list(parts), separator=" ", ignore_nulls=True).str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(joined != "").then(joined)
