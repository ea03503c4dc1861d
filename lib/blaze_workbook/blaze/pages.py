"""What the client hands back: raw responses and raw pages, and the envelope read that pages them.

A :class:`RawPage` keeps the body bytes exactly as received, for the audit trail and for replay;
records are decoded elsewhere. Only the envelope (``values``, ``skip``, ``limit``, ``total``) is
read here, and a body that does not parse or lacks ``values`` is a server fault to retry, since
the API does cut bodies and send broken JSON under load. A list page is checked by msgspec with
its records kept as raw slices: the whole body is validated as JSON (and UTF-8) without building
one Python object per value, which costs a tenth of a full parse and, in the fetch threads,
holds the GIL a tenth as long while the ingest thread decodes.

Neither type holds headers, so no key can reach a ``repr``, a log line or an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import msgspec
import orjson

from ..errors import InvestigateError, ServerError
from ..redact import redact
from .endpoints import API_PREFIX, EndpointSpec, Envelope
from .paging import Window

Params = tuple[tuple[str, str], ...]


def describe(path: str, params: Params | Mapping[str, str] = ()) -> str:
    """``GET /api/v1/partner/path?query`` — how requests are named in logs and errors."""
    query = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params))
    return redact(f"GET {API_PREFIX}{path}" + (f"?{query}" if query else ""))


@dataclass(frozen=True, repr=False)
class RawResponse:
    """One successful HTTP response. Holds no headers, so none can leak."""

    status: int
    body: bytes
    elapsed: float
    path: str
    params: Params = ()

    def __repr__(self) -> str:
        return f"RawResponse({self.status}, {describe(self.path, self.params)}, {len(self.body)} bytes, {self.elapsed:.3f} s)"


@dataclass(frozen=True, repr=False)
class RawPage:
    """One page of one listing, as received: the audit and replay unit."""

    endpoint: str
    params: Params
    body: bytes
    #: number of records in ``values``
    count: int
    skip: int
    limit: int
    total: int | None
    fetched_at: datetime
    elapsed: float
    window: Window | None = None
    #: the last page of its listing (its window is complete once this page is stored)
    last: bool = False

    def values(self) -> list[Any]:
        """The records, parsed again from :attr:`body` (a bare object comes back as one record)."""
        data = orjson.loads(self.body)
        return data["values"] if isinstance(data, dict) and isinstance(data.get("values"), list) else [data]

    def __repr__(self) -> str:
        return redact(
            f"RawPage({self.endpoint}?{urlencode(self.params)}, count={self.count}, skip={self.skip}, "
            f"total={self.total}, window={self.window}, last={self.last}, {len(self.body)} bytes)"
        )


def loads_body(raw: RawResponse) -> Any:
    """The parsed body; a body that does not parse (cut, broken) is a retriable :class:`ServerError`."""
    try:
        return orjson.loads(raw.body)
    except orjson.JSONDecodeError as exc:
        raise ServerError(
            f"{describe(raw.path, raw.params)} sent a body that is not valid JSON ({len(raw.body)} bytes; truncated?)"
        ) from exc


class _ListEnvelope(msgspec.Struct):
    """``{values, skip, limit, total}`` with the records sliced, not parsed."""

    values: list[msgspec.Raw]
    skip: Any = None
    limit: Any = None
    total: Any = None


_LIST_ENVELOPE = msgspec.json.Decoder(_ListEnvelope)


def _list_envelope(raw: RawResponse, where: str) -> _ListEnvelope:
    """The envelope of a list page; a body that is not valid JSON, not UTF-8, or has no
    ``values`` list is a retriable :class:`ServerError` (as :func:`loads_body` says it)."""
    try:
        if not raw.body.isascii():
            raw.body.decode("utf-8")  # raw slices skip string contents: check them here
        return _LIST_ENVELOPE.decode(raw.body)
    except msgspec.ValidationError as exc:  # valid JSON of the wrong shape
        raise ServerError(f"{where} sent a body without a 'values' list") from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ServerError(f"{where} sent a body that is not valid JSON ({len(raw.body)} bytes; truncated?)") from exc


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_page(spec: EndpointSpec, raw: RawResponse, window: Window | None, sent_skip: int, paged: bool) -> RawPage:
    """Read the envelope only: a body that does not parse or lacks ``values`` is a server fault."""
    where = describe(raw.path, raw.params)
    if spec.envelope is Envelope.OBJECT:
        if not isinstance(loads_body(raw), dict):
            raise ServerError(f"{where} sent JSON that is not an object")
        count, skip, limit, total = 1, 0, 1, 1
    else:
        data = _list_envelope(raw, where)
        count = len(data.values)
        skip = _int(data.skip)
        if paged and skip is not None and skip != sent_skip:
            raise InvestigateError(f"{where} answered with skip={skip}; the endpoint ignores its paging parameter")
        skip = sent_skip if skip is None else skip
        limit = _int(data.limit) or spec.page_limit
        total = _int(data.total)
    return RawPage(
        endpoint=spec.name,
        params=raw.params,
        body=raw.body,
        count=count,
        skip=skip,
        limit=limit,
        total=total,
        fetched_at=datetime.now(timezone.utc),
        elapsed=raw.elapsed,
        window=window,
    )


def with_last(page: RawPage) -> RawPage:
    """The same page marked as the last of its listing."""
    return replace(page, last=True)


__all__ = ["Params", "RawPage", "RawResponse", "describe", "loads_body", "read_page", "with_last"]
