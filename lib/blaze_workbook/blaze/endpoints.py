"""The BLAZE Partner API endpoints the workbook reads, as data.

Each endpoint is a frozen :class:`EndpointSpec` in one registry, so the client, the sync layer
and the docs read the same facts (path, paging parameter, date format, window cap, envelope)
instead of scattering them through code. Facts and their sources are in
``shared/blaze/API.md`` §2–§3; where the sources disagree the comment says which one we follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import quote

from ..errors import ConfigurationError

#: every path below hangs off this prefix [SW, AUTH]
API_PREFIX = "/api/v1/partner"
#: the effective page cap of the API (asking for more still returns at most 100) [TXN, PAG, COMM]
PAGE_LIMIT = 100


class Paging(StrEnum):
    """How an endpoint pages: the offset parameter's name, or not at all."""

    SKIP = "skip"
    START = "start"
    NONE = "none"


class DateFormat(StrEnum):
    """How ``startDate``/``endDate`` are written for an endpoint."""

    EPOCH_MS = "epoch_ms"
    MMDDYYYY = "mmddyyyy"
    NONE = "none"


class Envelope(StrEnum):
    """The shape of a response body [SW]."""

    #: ``{values, skip, limit, total}``
    SEARCH_RESULT = "search_result"
    #: ``{values}``
    LIST_RESULT = "list_result"
    #: the bare object
    OBJECT = "object"


@dataclass(frozen=True)
class EndpointSpec:
    """One GET endpoint. ``path`` may hold ``{name}`` placeholders filled by :meth:`path_for`."""

    name: str
    path: str
    paging: Paging
    date_format: DateFormat
    #: the longest date window the endpoint accepts, in calendar days (``None``: no dates)
    max_window_days: int | None
    envelope: Envelope
    #: query parameters the endpoint refuses to work without
    required_params: tuple[str, ...] = ()
    page_limit: int = PAGE_LIMIT

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of the ``{placeholders}`` in :attr:`path`."""
        parts = self.path.split("{")[1:]
        return tuple(p.split("}", 1)[0] for p in parts)

    def path_for(self, **values: str) -> str:
        """The path with its placeholders filled (URL-quoted); fails naming any missing one."""
        missing = [p for p in self.path_params if not values.get(p)]
        if missing:
            raise ConfigurationError(
                f"endpoint {self.name!r} needs {', '.join(missing)} for its path {self.path}",
                hint="pass the id of the record to fetch",
            )
        return self.path.format(**{k: quote(str(v), safe="") for k, v in values.items()})

    def check_params(self, params: Mapping[str, object]) -> None:
        """Refuse before calling when a required query parameter is missing (saves a 400)."""
        missing = [p for p in self.required_params if not params.get(p)]
        if missing:
            raise ConfigurationError(
                f"endpoint {self.name!r} needs the query parameter(s) {', '.join(missing)}",
                hint="pass them in params=",
            )


def _spec(
    name: str,
    path: str,
    paging: Paging = Paging.NONE,
    date_format: DateFormat = DateFormat.NONE,
    envelope: Envelope = Envelope.SEARCH_RESULT,
    required: tuple[str, ...] = (),
) -> EndpointSpec:
    max_days = None if date_format is DateFormat.NONE else 7  # [PAG]: "most endpoints" 7 days
    return EndpointSpec(name, path, paging, date_format, max_days, envelope, required)


_S, _T, _MS, _DAY, _OBJ = Paging.SKIP, Paging.START, DateFormat.EPOCH_MS, DateFormat.MMDDYYYY, Envelope.OBJECT

_ALL = (
    # epoch ms on `modified` (the rules say pull members by modified date) [PAG, RULES]
    _spec("members", "/members", _S, _MS),
    _spec("members_by_id", "/members/{id}", envelope=_OBJ),
    # MM/dd/yyyy, at most 7 days, else 400 "Date range cannot exceed 7 days" [TXN, ERR]
    _spec("transactions", "/transactions", _S, _DAY),
    _spec("transactions_by_id", "/transactions/{id}", envelope=_OBJ),
    # [SW] types the dates as strings; [PAG] says epoch ms. We follow [SW]; prefer products_modified.
    _spec("products", "/products", _S, _DAY),
    _spec("products_modified", "/products/modified", _S, _MS),
    _spec("products_by_id", "/products/{id}", envelope=_OBJ),
    _spec("vendors", "/vendors", _S, _DAY),
    _spec("store", "/store", envelope=_OBJ),
    _spec("terminals", "/store/terminals", _T),
    # no paging parameters, yet the SearchResult envelope [SW]
    _spec("categories", "/store/inventory/categories"),
    _spec("brands", "/store/inventory/brands", _T),
    _spec("employees", "/employees", _T),
    _spec("loyalty_points", "/loyalty/points", envelope=_OBJ, required=("memberId",)),
    _spec("loyalty_activity", "/loyalty/activity", _T),
)

#: every endpoint by name
ENDPOINTS: Mapping[str, EndpointSpec] = MappingProxyType({s.name: s for s in _ALL})


def endpoint(name: str | EndpointSpec) -> EndpointSpec:
    """The spec called ``name``; an unknown name fails listing the valid ones."""
    if isinstance(name, EndpointSpec):
        return name
    try:
        return ENDPOINTS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown Blaze endpoint {name!r}; valid: {', '.join(sorted(ENDPOINTS))}",
            hint="use one of the listed endpoint names",
        ) from None


__all__ = ["API_PREFIX", "ENDPOINTS", "PAGE_LIMIT", "DateFormat", "EndpointSpec", "Envelope", "Paging", "endpoint"]
