"""The simulated endpoints as data: path, dataset entity, paging name and filters of each.

``docs/simulator.md`` has the same table for people; :func:`build_query` turns a request's query
string into the dataset's :class:`Query` following the row of its endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Literal

from . import params
from .dataset import Query

PREFIX = "/api/v1/partner"

Kind = Literal["list", "get", "store", "points", "categories"]
Dates = Literal["none", "ms", "days", "either", "transactions"]


@dataclass(frozen=True)
class Endpoint:
    """One GET route of the simulated API."""

    path: str
    entity: str
    kind: Kind = "list"
    paging: str = "skip"
    dates: Dates = "none"
    #: extra filters: ``active``, ``instock``, ``term``, ``memberId``, ``includeDeleted``
    filters: tuple[str, ...] = ()

    @property
    def template(self) -> str:
        """The full route template, the key of the per-endpoint statistics."""
        return PREFIX + self.path


#: in routing order: fixed paths before ``{id}`` paths
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/members", "members", dates="ms"),
    Endpoint("/members/{id}", "members", kind="get"),
    Endpoint("/transactions", "transactions", dates="transactions"),
    Endpoint("/transactions/{id}", "transactions", kind="get"),
    Endpoint("/products", "products", dates="either", filters=("active", "instock")),
    Endpoint("/products/modified", "products_modified", dates="ms"),
    Endpoint("/products/{id}", "products", kind="get"),
    Endpoint("/vendors", "vendors", dates="days"),
    Endpoint("/store", "store", kind="store"),
    Endpoint("/store/terminals", "terminals", paging="start"),
    Endpoint("/store/inventory/categories", "categories", kind="categories", filters=("includeDeleted",)),
    Endpoint("/store/inventory/brands", "brands", paging="start", filters=("term",)),
    Endpoint("/employees", "employees", paging="start"),
    Endpoint("/loyalty/points", "loyalty_points", kind="points"),
    Endpoint("/loyalty/activity", "loyalty_activity", paging="start", filters=("memberId",)),
)

#: effectively "everything" for the unpaged categories list
_ALL = 1 << 62


def build_query(ep: Endpoint, query: Mapping[str, str], now_ms: int, tz: tzinfo) -> tuple[Query, int]:
    """The dataset query of a list call and the ``limit`` its envelope echoes."""
    if ep.kind == "categories":
        include = params.parse_bool(query, "includeDeleted") or False
        return Query(skip=0, limit=_ALL, include_deleted=include), 0
    paging = params.parse_paging(query, ep.paging)
    kw: dict[str, object] = {"skip": paging.skip, "limit": paging.limit}
    kw.update(_dates(ep.dates, query, now_ms, tz))
    if "active" in ep.filters:
        kw["active"] = params.parse_bool(query, "active")
    if "instock" in ep.filters:
        kw["instock"] = params.parse_bool(query, "instock")
    if "term" in ep.filters:
        kw["term"] = query.get("term") or None
    if "memberId" in ep.filters:
        kw["member_id"] = query.get("memberId") or None
    return Query(**kw), paging.limit  # type: ignore[arg-type]


def _dates(kind: Dates, query: Mapping[str, str], now_ms: int, tz: tzinfo) -> dict[str, object]:
    if kind == "none":
        return {}
    if kind == "ms":
        r: params.MsRange | params.DayRange = params.parse_ms_range(query)
    elif kind == "days":
        r = params.parse_day_range(query)
    elif kind == "either":
        r = params.parse_either_range(query)
    else:
        r = params.parse_transaction_range(query, now_ms, tz)
    if isinstance(r, params.MsRange):
        return {"start_ms": r.start_ms, "end_ms": r.end_ms}
    if kind == "transactions":
        return {"start_day": r.start_day, "end_day": r.end_day}
    # vendors and products filter ``modified``: shop-local days become inclusive epoch-ms bounds
    return {
        "start_ms": None if r.start_day is None else params.day_start_ms(r.start_day, tz),
        "end_ms": None if r.end_day is None else params.day_start_ms(r.end_day + timedelta(days=1), tz) - 1,
    }
