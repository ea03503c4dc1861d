"""Sync, landing and mapping: Blaze pages -> typed frames -> DuckDB warehouse -> Postgres staging.

- :func:`decode_page`: one raw page of an entity -> typed polars frames with the staging
  columns of :mod:`blaze_workbook.mapping`, a quarantine frame and drift counts;
- :class:`Warehouse`: the DuckDB file keeping raw pages, typed tables, look-ups, quarantine and
  sync state; :meth:`Warehouse.ingest` is one transaction per page, :meth:`Warehouse.replay`
  rebuilds everything from the raw pages;
- :func:`push`: the typed tables into the Postgres staging tables, only what changed.
"""

from ._schema import ENTITIES, LOOKUP_ENTITIES
from .decode import MONEY, NUMERIC, QUARANTINE_SCHEMA, TIMESTAMP, DecodedPage, decode_page, frame_schema, resolve, shop_timezone
from .push import PushCounts, push
from .warehouse import IngestCounts, ReplayCounts, TableCounts, Warehouse

__all__ = [
    "ENTITIES",
    "LOOKUP_ENTITIES",
    "MONEY",
    "NUMERIC",
    "QUARANTINE_SCHEMA",
    "TIMESTAMP",
    "DecodedPage",
    "IngestCounts",
    "PushCounts",
    "ReplayCounts",
    "TableCounts",
    "Warehouse",
    "decode_page",
    "frame_schema",
    "push",
    "resolve",
    "shop_timezone",
]
