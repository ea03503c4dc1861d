"""One API call, start to end: auth, injected faults, rate limit, the page, live events, stats.

The order is fixed and documented in ``docs/simulator.md``: method, keys, burst 429s, rate limit
(only calls that pass it count), latency and hangs, injected 5xx, the answer itself, body faults.
Dataset access holds one lock because uvicorn may run calls concurrently and a test thread may
call :meth:`Engine.step` at the same time.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...errors import BadRequestError
from .dataset import Dataset
from .endpoints import Endpoint, build_query
from .params import MAX_TRANSACTION_DAYS, RANGE_TOO_LONG
from .faults import CallFaults, FaultInjector, Faults
from .ratelimit import SlidingWindowLimiter
from .settings import SimulatorConfig
from .stats import Stats

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 429: "Too Many Requests"}
_PAGED_MOVABLE = {"members": "members", "transactions": "transactions", "products": "products",
                  "products_modified": "products"}


class ConnectionCut(Exception):
    """Raised after a deliberately incomplete response so the server drops the connection."""


class CutResponse(Response):
    """Announces ``Content-Length`` of the whole body, sends a prefix, then drops the connection."""

    def __init__(self, body: bytes, sent: int) -> None:
        super().__init__(body, media_type="application/json")
        self.sent = sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.sent:
            await send({"type": "http.response.body", "body": self.body[: self.sent], "more_body": True})
        raise ConnectionCut("injected fault: connection cut mid-body")


def error_body(status: int, message: str, reason: str | None = None) -> bytes:
    """The documented error shape ``{error, message, status}``."""
    return orjson.dumps({"error": reason or _REASONS.get(status, "Error"), "message": message, "status": status})


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, error_body(status, message), headers)


def shop_tz(ds: Dataset) -> tzinfo:
    tz = ds.tz
    return tz if isinstance(tz, tzinfo) else ZoneInfo(str(tz))


class Engine:
    """The simulator's state and request handling, shared by the app and the Python handle."""

    def __init__(self, config: SimulatorConfig, dataset: Dataset | None = None) -> None:
        from .presets import DEFAULT_NOW_MS

        self.config = config
        self.dataset = dataset or Dataset.generate(
            scale=config.scale, seed=config.seed, now_ms=config.now_ms or DEFAULT_NOW_MS
        )
        self.tz = shop_tz(self.dataset)
        self.lock = threading.RLock()
        self.limiter = SlidingWindowLimiter(config.rate_limit_calls, config.rate_limit_seconds, config.clock)
        self.stats = Stats(config.rate_limit_seconds, config.clock)
        self.injector = FaultInjector(config.faults, config.seed)
        self._partner, self._developer = (k.encode() for k in config.accepted_keys())

    # -- the Python-side controls ------------------------------------------------------------
    def set_faults(self, **changes: Any) -> Faults:
        faults = self.injector.faults.updated(changes)
        self.injector.set(faults)
        return faults

    def step(self, n: int = 1) -> list[dict[str, Any]]:
        with self.lock:
            events = self.dataset.step(n)
        self.stats.live_events(len(events))
        return events

    def amend(self, entity: str, id: str, *, deleted: bool | None = None, modified_ms: int | None = None) -> dict[str, Any] | None:
        """See :meth:`Dataset.amend`."""
        with self.lock:
            return self.dataset.amend(entity, id, deleted=deleted, modified_ms=modified_ms)

    def stats_snapshot(self) -> dict[str, Any]:
        out = self.stats.snapshot()
        out["now_ms"] = self.dataset.now_ms
        out["faults_config"] = self.injector.faults.as_dict()
        return out

    # -- one API call --------------------------------------------------------------------------
    async def handle(self, request: Request, ep: Endpoint | None) -> Response:
        template = ep.template if ep else "unknown"
        response = await self._respond(request, ep)
        if isinstance(response, CutResponse):
            self.stats.response(template, "cut", response.sent)
        else:
            self.stats.response(template, response.status_code, len(response.body))
        return response

    async def _respond(self, request: Request, ep: Endpoint | None) -> Response:
        if request.method != "GET":
            return error_response(405, f"{request.method} is not allowed here; use GET", {"Allow": "GET"})
        partner = self._authorised(request)
        if partner is None:
            return error_response(401, "missing or invalid partner key or developer key")
        if ep is None:
            return error_response(404, f"no such endpoint: {request.url.path}")
        cf = self.injector.decide()
        if cf.burst_429:
            self.stats.fault("burst_429")
            headers = {"Retry-After": "1"} if cf.retry_after else None
            return error_response(429, "Too many requests, slow down", headers)
        wait = self.limiter.acquire(partner)
        if wait is not None:
            self.stats.rate_limited()
            limit = f"{self.limiter.calls} calls per {self.limiter.seconds:g} seconds"
            return error_response(429, f"Rate limit exceeded: {limit}", {"Retry-After": str(wait)})
        self.stats.accepted()
        try:
            return await self._accepted(request, ep, cf)
        finally:
            if self.config.live_events_per_call > 0:
                self.step(self.config.live_events_per_call)

    async def _accepted(self, request: Request, ep: Endpoint, cf: CallFaults) -> Response:
        if cf.delay_s > 0:
            if cf.spike:
                self.stats.fault("latency_spike")
            await asyncio.sleep(cf.delay_s)
        if cf.hang_s > 0:
            self.stats.fault("hang")
            await _hang(request, cf.hang_s)
            if cf.cut_after_hang:
                return CutResponse(b"{}", 0)
        if cf.error:
            self.stats.fault(f"error_{cf.error[0]}")
            status, reason = cf.error
            return json_response(status, error_body(status, "injected fault: the server failed", reason))
        try:
            status, body = self._render(ep, dict(request.query_params), request.path_params, cf)
        except BadRequestError as exc:
            return error_response(400, exc.message)
        if status == 200:
            if cf.truncate:
                self.stats.fault("truncated")
                return CutResponse(body, cf.cut_at(len(body)))
            if cf.invalid_json:
                self.stats.fault("invalid_json")
                body = body[: cf.cut_at(len(body))]
        return json_response(status, body)

    def _render(self, ep: Endpoint, query: dict[str, str], path: dict[str, str], cf: CallFaults) -> tuple[int, bytes]:
        ds = self.dataset
        if ep.kind == "get":
            with self.lock:
                record = ds.get(ep.entity, path["id"])
            if record is None:
                return 404, error_body(404, f"{ep.entity[:-1]} not found")
            return 200, orjson.dumps(self._drift(ep.entity, self._bad(ep.entity, [record]))[0])
        if ep.kind == "store":
            with self.lock:
                return 200, orjson.dumps(ds.store())
        if ep.kind == "points":
            member = query.get("memberId", "").strip()
            if not member:
                raise BadRequestError("memberId is required")
            with self.lock:
                points = ds.loyalty_points(member)
            if points is None:
                return 404, error_body(404, "member not found")
            return 200, orjson.dumps(points)
        with self.lock:
            q, limit = build_query(ep, query, ds.now_ms, self.tz)
            if self.injector.faults.capped_ranges and ep.dates == "ms" and q.start_ms is not None and q.end_ms is not None \
                    and q.end_ms - q.start_ms + 1 > MAX_TRANSACTION_DAYS * 86_400_000:
                raise BadRequestError(RANGE_TOO_LONG)
            if cf.move and q.skip > 0 and ep.entity in _PAGED_MOVABLE:
                ds.touch(_PAGED_MOVABLE[ep.entity], self.injector.move_rng, insert=cf.move_inserts)
                self.stats.move(cf.move_inserts)
            page = ds.page(ep.entity, q)
        records = self._drift(ep.entity, self._bad(ep.entity, page.records))
        if ep.kind == "categories":
            limit = page.total
        return 200, orjson.dumps({"values": records, "skip": q.skip, "limit": limit, "total": page.total})

    def _drift(self, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.injector.faults.drift_rate <= 0:
            return records
        out, counts = self.injector.drift(entity, records)
        self.stats.drift(counts)
        return out

    def _bad(self, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.injector.faults.bad_record_rate <= 0:
            return records
        out, broken = self.injector.bad_records(entity, records)
        if broken:
            self.stats.bad_records(broken)
        return out

    def _authorised(self, request: Request) -> str | None:
        """The partner key when both keys are right, else ``None``; values are never echoed."""
        developer = request.headers.get("authorization", "").encode()
        if not developer or not hmac.compare_digest(developer, self._developer):
            return None
        for name in ("partner_key", "x-api-key"):
            value = request.headers.get(name, "").encode()
            if value and hmac.compare_digest(value, self._partner):
                return value.decode()
        return None


async def _hang(request: Request, seconds: float) -> None:
    """Stall like a stuck upstream; stop early when the client has given up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(0.05, left))
        if await request.is_disconnected():
            return
