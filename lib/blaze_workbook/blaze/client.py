"""The BLAZE Partner API client: raw pages in, nothing decoded.

The client sends both partner-key headers (``partner_key`` [SW] and ``x-api-key`` [AUTH], same
value: which one the API honours is undocumented) and the developer key raw in
``Authorization``. It talks to an ``httpx`` transport, so tests can swap the network for a fake
and integration tests run the simulator over 127.0.0.1. Pages come back as :class:`RawPage` with
the body bytes untouched, for the audit trail and for replay; decoding records is another
module's job, this one only reads the envelope to page.

Keys never appear in a ``repr``, a log line or an error: requests are described by path and
query only, and every message passes through :func:`~blaze_workbook.redact.redact`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from .. import __version__
from ..config import BlazeSettings
from ..errors import ConfigurationError, ServerError
from ..redact import redact, register_secret
from .ahead import Ahead
from .endpoints import API_PREFIX, DateFormat, EndpointSpec, endpoint
from .limiter import CallBudget
from .metrics import HTTP_ERROR, INVALID_BODY, OK, TRANSPORT_ERROR, CallMetrics
from .pages import Params, RawPage, RawResponse, describe, loads_body, read_page, with_last
from .paging import DayWindow, MillisWindow, OffsetPaginator, Window
from .retry import RetryPolicy, error_for_status
from .turns import fetch_in_turn

log = logging.getLogger("blaze_workbook.blaze")
T = TypeVar("T")


class BlazeClient:
    """Reads the Partner API through one pooled ``httpx.Client`` shared by all worker threads."""

    def __init__(
        self,
        settings: BlazeSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        concurrency: int = 4,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        metrics: CallMetrics | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError(f"concurrency must be at least 1, not {concurrency}")
        register_secret(settings.partner_key)
        register_secret(settings.developer_key)
        self.base_url = settings.base_url.rstrip("/").removesuffix(API_PREFIX)
        self.concurrency = concurrency
        self.policy = policy if policy is not None else RetryPolicy(budget=CallBudget())
        self.metrics = metrics if metrics is not None else CallMetrics()
        #: one per pooled connection, held around each send (see :meth:`_send`)
        self._sending = threading.BoundedSemaphore(concurrency)
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers={
                "partner_key": settings.partner_key,
                "x-api-key": settings.partner_key,
                "Authorization": settings.developer_key,
                "Accept": "application/json",
                "User-Agent": f"blaze-workbook/{__version__}",
            },
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None),
            # as many kept alive as open: httpcore closes "surplus" idle connections, a pass that
            # can hit one already handed to a request (see _send)
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_env(cls, *, demo_base_url: str | None = None, **kwargs: Any) -> BlazeClient:
        """A client with the keys and URL from the environment (``config.BlazeSettings``)."""
        return cls(BlazeSettings.from_env(demo_base_url=demo_base_url), **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BlazeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return redact(f"BlazeClient({self.base_url!r}, concurrency={self.concurrency})")

    # ----------------------------------------------------------------- one request

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint_name: str | None = None) -> RawResponse:
        """GET ``path`` (relative to ``/api/v1/partner``), retried per the policy; 4xx raise at once."""
        query = _params(params)
        return self.policy.call(
            lambda n: self._attempt(endpoint_name or path, path, query, n, lambda raw: raw),
            describe=describe(path, query),
        )

    def get_object(
        self,
        path: str | EndpointSpec,
        params: Mapping[str, Any] | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A single JSON object: a path (``"/store"``) or an endpoint name (``"members_by_id"``)."""
        if isinstance(path, str) and path.startswith("/"):
            name, url = path, path
        else:
            spec = endpoint(path)
            spec.check_params(params or {})
            name, url = spec.name, spec.path_for(**(path_params or {}))
        query = _params(params)

        def parse(raw: RawResponse) -> dict[str, Any]:
            data = loads_body(raw)
            if not isinstance(data, dict):
                raise ServerError(f"{describe(raw.path, raw.params)} sent JSON that is not an object")
            return data

        return self.policy.call(lambda n: self._attempt(name, url, query, n, parse), describe=describe(url, query))

    def _attempt(
        self, name: str, path: str, query: Params, attempt: int, parse: Callable[[RawResponse], T]
    ) -> T:
        """One HTTP attempt, counted in the metrics whatever its outcome (its seconds include the
        wait for a sending slot, as they included the wait inside the pool before there were any)."""
        where = describe(path, query)
        status, nbytes, outcome = 0, 0, TRANSPORT_ERROR
        started = time.perf_counter()
        try:
            try:
                response = self._send(path, query)
            except httpx.TimeoutException as exc:
                raise ServerError(f"{where} timed out ({type(exc).__name__})") from exc
            except httpx.UnsupportedProtocol as exc:
                raise ConfigurationError(f"{where}: {exc}", hint="BLAZE_BASE_URL must start with https://") from exc
            except httpx.ConnectError as exc:
                raise ServerError(
                    f"{where} could not connect: {exc}", hint="check BLAZE_BASE_URL and the network; retrying"
                ) from exc
            except httpx.RequestError as exc:
                raise ServerError(f"{where} failed in transit ({type(exc).__name__}: {exc})") from exc
            status, body = response.status_code, response.content
            nbytes, outcome = len(body), HTTP_ERROR
            error = error_for_status(status, body, where, response.headers.get("retry-after"))
            if error is not None:
                raise error
            raw = RawResponse(status, body, time.perf_counter() - started, path, query)
            outcome = INVALID_BODY
            result = parse(raw)
            outcome = OK
            log.debug("%s -> %s (%d bytes, %.3f s)", where, status, nbytes, raw.elapsed)
            return result
        finally:
            self.metrics.record(name, status, outcome, nbytes, time.perf_counter() - started, attempt)

    def _send(self, path: str, query: Params) -> httpx.Response:
        """One GET holding one of ``concurrency`` sending slots, so no request ever waits inside
        httpcore's connection pool.

        Lanes, windows side by side and pages fetched ahead together put more requests on their
        way than the pool has connections. A request queued in the pool can lose the connection
        assigned to it: httpcore 1.0.9 marks an idle connection as the queued request's, and
        until that request's thread wakes up and starts on it, another thread's pass over the
        pool still sees it idle and may close it (encode/httpcore#1110; the fix, #1111, is not
        released): "to make room" when a connection goes idle in the middle of a pass, or as
        "expired" when the idle-looking socket turns readable because the woken request's
        answer is arriving. That request then reads a closed socket, ``ReadError: [Errno 9] Bad
        file descriptor``. A stress run with the pool patched to log its closes counted both
        kinds, and none once no request was queued. With at most ``concurrency`` requests in a
        pool of ``concurrency`` connections none is queued: the first kind cannot happen, and
        the window of the second shrinks from a thread's wake-up to the few lines between a
        request's own pass over the pool and its start.

        The call budget's slot is taken before this (:class:`~.retry.RetryPolicy`), never while
        a sending slot is held, so the two cannot wait on each other; the backoff between
        attempts holds neither. ``get`` reads the whole body, so the connection is back in the
        pool before the slot is released.
        """
        with self._sending:
            return self._http.get(path, params=query)

    # ----------------------------------------------------------------- listings

    def iter_pages(
        self,
        spec: str | EndpointSpec,
        window: Window | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> Iterator[RawPage]:
        """Every page of one listing, in order.

        The offset moves by the number of records received, so paging is sequential; once a
        full page reported ``total``, the pages after it are fetched ahead (:mod:`.ahead`), up to
        the client's ``concurrency``, and still handed out in order."""
        spec = endpoint(spec)
        base = dict(_params(params))
        spec.check_params(base)
        base.update(_window_params(spec, window))
        path = spec.path_for(**(path_params or {}))
        paginator = OffsetPaginator.for_spec(spec)

        def query_of(page_params: dict[str, str]) -> Params:
            if set(page_params) & set(base):
                raise ConfigurationError(f"pass {', '.join(sorted(page_params))} through the paginator, not params=")
            return tuple({**base, **page_params}.items())

        def fetch(query: Params) -> RawPage:
            paged = paginator.param is not None
            sent_skip = int(dict(query).get(paginator.param or "", 0))
            return self.policy.call(
                lambda n: self._attempt(spec.name, path, query, n, lambda raw: read_page(spec, raw, window, sent_skip, paged)),
                describe=describe(path, query),
            )

        ahead = Ahead(fetch, depth=self.concurrency)
        try:
            more = True
            while more:
                query = query_of(paginator.params())
                page = ahead.take(query) or fetch(query)
                more = paginator.advance(page.count, page.total, page.limit)
                if more:
                    ahead.plan(query_of(p) for p in paginator.ahead(self.concurrency))
                yield page if more else with_last(page)
        finally:
            ahead.close()

    def fetch_windows(
        self,
        spec: str | EndpointSpec,
        windows: Iterable[Window],
        concurrency: int | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[RawPage]:
        """Pages of many windows, fetched ``concurrency`` windows at a time (at most the client's
        ``concurrency``, the size of its connection pool).

        Pages come in window order, each window's in offset order; a page with ``last=True``
        closes its window. Windows are fetched at once but handed out in turn (:mod:`.turns`),
        so a window is stored only after every window before it, and start at most
        ``concurrency`` ahead of the one being handed out. The first error stops every worker
        and is raised here.
        """
        spec = endpoint(spec)
        todo = list(windows)
        workers = max(1, min(concurrency or self.concurrency, self.concurrency, len(todo) or 1))
        yield from fetch_in_turn(todo, lambda window: self.iter_pages(spec, window, params=params), workers)


# --------------------------------------------------------------------------- helpers


def _params(params: Mapping[str, Any] | None) -> Params:
    if not params:
        return ()
    out = []
    for key, value in params.items():
        if value is None:
            continue
        out.append((key, ("true" if value else "false") if isinstance(value, bool) else str(value)))
    return tuple(out)


def _window_params(spec: EndpointSpec, window: Window | None) -> dict[str, str]:
    if window is None:
        return {}
    expected = {DateFormat.EPOCH_MS: MillisWindow, DateFormat.MMDDYYYY: DayWindow}.get(spec.date_format)
    if expected is None:
        raise ConfigurationError(f"endpoint {spec.name!r} takes no date window")
    if not isinstance(window, expected):
        raise ConfigurationError(f"endpoint {spec.name!r} wants a {expected.__name__}, got {window!r}")
    days = window.days if isinstance(window, DayWindow) else -(-window.span_ms // 86_400_000)
    if spec.max_window_days is not None and days > spec.max_window_days:
        raise ConfigurationError(
            f"window {window} covers {days} days; {spec.name} accepts at most {spec.max_window_days}",
            hint="cut the range with WindowStepper",
        )
    return window.params()


__all__ = ["BlazeClient", "RawPage", "RawResponse", "describe"]
