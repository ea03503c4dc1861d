"""The simulator's data: a deterministic dataset held as columns, served as pages of real-shaped JSON.

``Dataset.generate(scale, seed, now_ms)`` builds every table from numpy PCG64 streams (the same
three arguments give byte-identical JSON). Pages are selected through indexes kept in serving order
(binary search, no per-request sort) and only the requested slice is rendered, with the key sets,
nesting, nulls and empty strings of ``shared/blaze/samples``. ``step()`` applies live events,
``touch()`` moves records between pages for the fault injector, ``truth()`` gives the current data
as polars frames whose values equal what the JSON carries.

Decisions where the real API leaves room (the client must cope either way):

- Refunds are ``transType`` Refund with status RefundWithInventory or RefundWithoutInventory,
  ``parentTransactionId`` the earlier completed sale, and **positive** amounts (``cart.total`` =
  refunded items' ``finalPrice + calcTax``); the sale's ``modified`` moves and its
  ``transactionRefundStatus`` becomes Complete_Refund or Partial_Refund. Refunds leave points alone.
- A few sales are Canceled or Void (``transType`` Sale): ``completedTime`` null, no points.
- ``cart.tax`` is the rate 0.08; tax amounts are the items' ``calcTax`` (city 10 %, county 15 %,
  state 9.75 % of ``finalPrice`` for cannabis, state 9.5 % otherwise) and ``cart.totalCalcTax`` is
  their exact sum. ``cart.total`` may differ from ``totalAfterTaxRounding`` by a credit-card fee.
- ``pointsEarned`` is 5 % of ``subTotal - totalDiscount`` on completed sales; ``cart.pointSpent``
  is at most half of what the member had earned before. ``lastVisitDate`` is the member's last
  completed sale (null without one) and ``modified`` is never older than it.
- Sales happen 08:00-22:00 shop-local; ``processedTime = completedTime`` shortly after ``endTime``.
- Money is integer cents rendered as ``cents / 100`` (at most 2 decimals), quantities thousandths.
- Nested Terminal objects in a transaction page are shared between that page's payments (same
  terminal, same object); every other nested dict is fresh per record.

Run ``python -m blaze_workbook.blaze.simulator.dataset --bench seed`` to measure page rendering.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from . import _live, _render, _truth
from ._generate import World, build
from ._table import parse_id
from ._time import local_midnight_ms
from .presets import DEFAULT_NOW_MS, get_preset

#: a page never renders more records than this, whatever the caller asks
MAX_LIMIT = 100


@dataclass(frozen=True)
class Query:
    """What a list endpoint asked for, already parsed and validated by the app."""

    skip: int = 0
    limit: int = 100
    #: inclusive epoch-ms bounds on ``modified`` (members, products, products_modified, vendors)
    start_ms: int | None = None
    end_ms: int | None = None
    #: inclusive shop-local days on ``processedTime`` (transactions)
    start_day: dt.date | None = None
    end_day: dt.date | None = None
    #: brands: case-insensitive substring of the name
    term: str | None = None
    #: loyalty_activity: one member's logs
    member_id: str | None = None
    #: products
    active: bool | None = None
    instock: bool | None = None
    #: categories
    include_deleted: bool = False


@dataclass
class Page:
    """``total`` records match the query; ``records`` are the rendered ``values[skip:skip+limit]``."""

    total: int
    records: list[dict]


class Dataset:
    """A simulated BLAZE shop: generate once, then serve pages, advance the clock, compare truth."""

    ENTITIES: ClassVar[tuple[str, ...]] = (
        "members", "transactions", "products", "products_modified", "vendors", "terminals",
        "categories", "brands", "employees", "loyalty_activity",
    )

    def __init__(self, world: World) -> None:
        self._w = world
        self._live = _live.Live(world)

    @classmethod
    def generate(cls, scale: str = "tiny", seed: int = 0, now_ms: int = DEFAULT_NOW_MS) -> Dataset:
        return cls(build(get_preset(scale), int(seed), int(now_ms)))

    # -- clock and identity ------------------------------------------------------------------
    @property
    def now_ms(self) -> int:
        """The simulated clock (advances with live events)."""
        return self._w.now_ms

    @property
    def tz(self) -> str:
        return self._w.tz

    @property
    def scale(self) -> str:
        return self._w.preset.name

    @property
    def seed(self) -> int:
        return self._w.seed

    # -- reading -----------------------------------------------------------------------------
    def page(self, entity: str, q: Query) -> Page:
        """Records of ``entity`` matching ``q`` in serving order; only the slice is rendered."""
        positions = self._select(entity, q)
        skip = max(0, int(q.skip))
        # categories are one unpaged list (at most a few dozen); everything else pages by <= 100
        limit = max(0, int(q.limit) if entity == "categories" else min(int(q.limit), MAX_LIMIT))
        order = self._w.idx[entity].order
        if isinstance(positions, tuple):
            a, b = positions
            total = b - a
            rows = order[a + min(skip, total): a + min(skip + limit, total)]
        else:
            total = len(positions)
            rows = order[positions[skip: skip + limit]]
        return Page(total=int(total), records=self._render(entity, rows))

    def _render(self, entity: str, rows: np.ndarray) -> list[dict]:
        # the cyclic GC would rescan every fresh dict of a page many times over; nothing we build is cyclic
        enabled = gc.isenabled()
        gc.disable()
        try:
            return _render.render(self._w, entity, rows)
        finally:
            if enabled:
                gc.enable()

    def _select(self, entity: str, q: Query) -> tuple[int, int] | np.ndarray:
        """Either a contiguous range of index positions or an array of positions."""
        w = self._w
        idx = w.idx.get(entity)
        if idx is None:
            raise KeyError(f"unknown entity {entity!r}; valid: {', '.join(self.ENTITIES)}")
        if entity == "members":
            return idx.range(None if q.end_ms is None else -q.end_ms, None if q.start_ms is None else -q.start_ms)
        if entity == "products_modified":
            return idx.range(q.start_ms, q.end_ms)
        if entity == "transactions":
            lo = None if q.start_day is None else local_midnight_ms(q.start_day, w.tz)
            hi = None if q.end_day is None else local_midnight_ms(q.end_day + dt.timedelta(days=1), w.tz) - 1
            return idx.range(lo, hi)
        t = w.table(entity)
        mask = None
        if entity in ("products", "vendors") and (q.start_ms is not None or q.end_ms is not None):
            mod = t["modified"]
            mask = np.ones(len(t), dtype=bool)
            if q.start_ms is not None:
                mask &= mod >= q.start_ms
            if q.end_ms is not None:
                mask &= mod <= q.end_ms
        if entity == "products":
            for flag, col in ((q.active, "active"), (q.instock, "instock")):
                if flag is not None:
                    m = t[col] == bool(flag)
                    mask = m if mask is None else mask & m
        elif entity == "categories" and not q.include_deleted:
            mask = ~t["deleted"]
        elif entity == "brands" and q.term:
            term = q.term.casefold()
            mask = np.fromiter((term in name.casefold() for name in t["name"]), dtype=bool, count=len(t))
        elif entity == "loyalty_activity" and q.member_id is not None:
            row = self._row("members", q.member_id)
            mask = np.zeros(len(t), dtype=bool) if row is None else t["member"] == row
        if mask is None:
            return 0, len(idx)
        return np.nonzero(mask[idx.order])[0]

    def _row(self, entity: str, id: str) -> int | None:
        parsed = parse_id(id) if isinstance(id, str) else None
        if parsed is None:
            return None
        t = self._w.table(entity)
        hits = np.nonzero((t["hi"] == np.uint64(parsed[0])) & (t["lo"] == np.uint32(parsed[1])))[0]
        return int(hits[0]) if len(hits) else None

    def get(self, entity: str, id: str) -> dict | None:
        """One member, transaction or product by id (the full record), ``None`` when unknown."""
        if entity not in ("members", "transactions", "products"):
            raise KeyError(f"get() serves members, transactions and products, not {entity!r}")
        row = self._row(entity, id)
        if row is None:
            return None
        return self._render(entity, np.array([row]))[0]

    def store(self) -> dict:
        """``StoreInfoResult`` of ``/store``: ``{shop, contract, toleranceMap, companyLogoURL}``."""
        return _render.store(self._w)

    def loyalty_points(self, member_id: str) -> dict | None:
        """``MemberLoyaltyPoints`` of ``/loyalty/points``; ``None`` for an unknown member."""
        row = self._row("members", member_id)
        if row is None:
            return None
        m = self._w.members
        return {"memberId": member_id, "loyaltyPoints": int(m["loyalty"][row]) / 100,
                "lifetimePoints": int(m["lifetime"][row]) / 100}

    # -- changing ----------------------------------------------------------------------------
    def step(self, n: int = 1) -> list[dict]:
        """Apply the next ``n`` live events; returns ``[{kind, entity, id}]``."""
        return [self._live.step() for _ in range(max(0, int(n)))]

    def touch(self, entity: str, rng: np.random.Generator, *, insert: bool = False) -> str:
        """Bump ``modified`` of a random record to now (or insert a new one); returns its id."""
        return self._live.touch(entity, rng, insert=insert)

    def amend(self, entity: str, id: str, *, deleted: bool | None = None, modified_ms: int | None = None) -> dict | None:
        """Delete (``deleted=True``) a member or product, or move its ``modified`` (default: to
        now); ``None`` for an unknown id. Returns ``{id, deleted, modified}`` as now served."""
        row = self._row(entity, id) if entity in ("members", "products") else None
        if row is None:
            return None
        ms = self._live.amend(entity, row, deleted=deleted, modified_ms=modified_ms)
        return {"id": id, "deleted": bool(self._w.table(entity)["deleted"][row]), "modified": ms}

    # -- ground truth ------------------------------------------------------------------------
    def truth(self) -> dict:
        """The current data as polars frames whose columns are Blaze JSON paths."""
        return _truth.truth(self._w)

    def export_truth(self, directory: Path) -> list[Path]:
        """One parquet file per truth table in ``directory`` (created if needed)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in self.truth().items():
            path = directory / f"{name}.parquet"
            frame.write_parquet(path)
            paths.append(path)
        return paths


def bench(scale: str = "seed", seconds: float = 3.0) -> dict[str, float]:
    """Measure generation and page rendering (records built + ``orjson.dumps``) at ``scale``; prints it.

    Throughput is JSON MB per second of wall time and of this process's CPU time (the second is
    steadier on a shared machine).
    """
    import resource
    import time

    import orjson

    t = time.perf_counter()
    ds = Dataset.generate(scale)
    out = {"generate_s": time.perf_counter() - t,
           "rss_after_generate_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for entity in ("transactions", "members", "products"):
        total = ds.page(entity, Query(limit=1)).total
        n_bytes = n_rec = skip = 0
        wall, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall < seconds / 3:
            page = ds.page(entity, Query(skip=skip % max(total - 100, 1), limit=100))
            n_bytes += len(orjson.dumps({"values": page.records, "skip": skip, "limit": 100, "total": page.total}))
            n_rec += len(page.records)
            skip += 100 * 37
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out[f"{entity}_MBps_wall"] = n_bytes / wall / 1e6
        out[f"{entity}_MBps_cpu"] = n_bytes / max(cpu, 1e-9) / 1e6
        out[f"{entity}_avg_bytes"] = n_bytes / max(n_rec, 1)
    out["rss_max_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for k, v in out.items():
        print(f"{k:>28}: {v:,.2f}")
    return out


__all__ = ["MAX_LIMIT", "Dataset", "Page", "Query", "bench"]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", metavar="SCALE", default="seed", help="preset to benchmark")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    bench(args.bench, args.seconds)
