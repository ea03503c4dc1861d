"""Sync, landing and mapping: Blaze pages -> typed frames -> DuckDB warehouse -> Postgres staging.

- :func:`decode_page`: one raw page of an entity -> typed polars frames with the staging
  columns of :mod:`blaze_workbook.mapping`, a quarantine frame and drift counts;
- :class:`Warehouse`: the DuckDB file keeping raw pages, typed tables, look-ups, quarantine and
  sync state; :meth:`Warehouse.ingest` is one transaction per page, :meth:`Warehouse.replay`
  rebuilds everything from the raw pages;
- :func:`push`: the typed tables into the Postgres staging tables, only what changed;
- :func:`run_sync`: a whole sync run (look-ups, members, transactions, products, push) with
  cadence, resumable plans and a :class:`SyncSummary`; progress through a callback
  (:func:`tqdm_progress` in notebooks, :class:`RichProgress` on a terminal).
"""

from ._schema import ENTITIES, LOOKUP_ENTITIES
from .decode import MONEY, NUMERIC, QUARANTINE_SCHEMA, TIMESTAMP, DecodedPage, decode_page, frame_schema, resolve, shop_timezone
from .push import PushCounts, push
from .warehouse import IngestCounts, ReplayCounts, TableCounts, Warehouse
from .cadence import DEFAULT_CADENCE
from .engine import run_sync
from .plan import ALL_ENTITIES, MAIN_ENTITIES, Plan
from .progress import Progress, RichProgress, TqdmProgress, tqdm_progress
from .summary import TIERS, EntityResult, PushResult, SyncSummary

__all__ = [
    "ALL_ENTITIES",
    "DEFAULT_CADENCE",
    "ENTITIES",
    "LOOKUP_ENTITIES",
    "MAIN_ENTITIES",
    "MONEY",
    "NUMERIC",
    "QUARANTINE_SCHEMA",
    "TIERS",
    "TIMESTAMP",
    "DecodedPage",
    "EntityResult",
    "IngestCounts",
    "Plan",
    "Progress",
    "PushCounts",
    "PushResult",
    "ReplayCounts",
    "RichProgress",
    "SyncSummary",
    "TableCounts",
    "TqdmProgress",
    "Warehouse",
    "decode_page",
    "frame_schema",
    "push",
    "resolve",
    "run_sync",
    "shop_timezone",
    "tqdm_progress",
]
