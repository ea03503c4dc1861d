"""The simulator's ASGI app (starlette): the API routes, the ``/_sim`` admin routes, JSON errors.

``build_app(config)`` is what ``httpx.ASGITransport`` mounts in unit tests and what uvicorn serves.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import ConfigurationError
from .dataset import Dataset
from .endpoints import ENDPOINTS, PREFIX, Endpoint
from .engine import ConnectionCut, Engine, error_response, json_response
from .settings import SimulatorConfig

Handler = Callable[[Request], Awaitable[Response]]


def build_app(config: SimulatorConfig | None = None, *, dataset: Dataset | None = None,
              engine: Engine | None = None) -> Starlette:
    """The ASGI app of a simulator; ``app.state.engine`` holds its state."""
    engine = engine or Engine(config or SimulatorConfig(), dataset)
    routes = [Route(PREFIX + ep.path, _api(engine, ep)) for ep in ENDPOINTS]
    routes.append(Route("/api/{rest:path}", _api(engine, None)))
    routes += [
        Route("/_sim/step", _admin(_step, engine), methods=["POST"]),
        Route("/_sim/amend", _admin(_amend, engine), methods=["POST"]),
        Route("/_sim/stats", _admin(_stats, engine), methods=["GET"]),
        Route("/_sim/faults", _admin(_faults, engine), methods=["GET", "POST"]),
        Route("/_sim/truth", _admin(_truth, engine), methods=["GET"]),
        Route("/_sim/reset-stats", _admin(_reset, engine), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.engine = engine
    return app


def _api(engine: Engine, ep: Endpoint | None) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await engine.handle(request, ep)

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(404, f"no such endpoint: {request.url.path}")
    return error_response(exc.status_code, exc.detail, dict(exc.headers or {}))


# -- admin routes: no keys, loopback clients only ------------------------------------------------
AdminHandler = Callable[[Engine, Request], Awaitable[Response]]


def _admin(handler: AdminHandler, engine: Engine) -> Handler:
    async def endpoint(request: Request) -> Response:
        if not _loopback(request):
            return error_response(403, "the /_sim routes answer loopback clients only")
        try:
            return await handler(engine, request)
        except ConfigurationError as exc:
            return error_response(400, exc.message)

    return endpoint


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if host in ("", "testclient", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ok(payload: object) -> Response:
    return json_response(200, orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))


async def _step(engine: Engine, request: Request) -> Response:
    raw = request.query_params.get("n", "1")
    if not raw.isdigit():
        return error_response(400, "n must be a non-negative integer")
    events = engine.step(int(raw))
    return _ok({"applied": len(events), "events": events, "now_ms": engine.dataset.now_ms})


async def _amend(engine: Engine, request: Request) -> Response:
    """``?entity=members&id=...&deleted=true&modified_ms=...``: delete a record in Blaze or move
    its ``modified`` (default: to the simulator's now)."""
    q = request.query_params
    entity, rid = q.get("entity", "members"), q.get("id", "")
    if entity not in ("members", "products"):
        return error_response(400, "entity must be members or products")
    deleted = q.get("deleted")
    if deleted is not None and deleted.lower() not in ("true", "false"):
        return error_response(400, "deleted must be true or false")
    modified = q.get("modified_ms")
    if modified is not None and not modified.lstrip("-").isdigit():
        return error_response(400, "modified_ms must be epoch milliseconds")
    amended = engine.amend(entity, rid, deleted=None if deleted is None else deleted.lower() == "true",
                           modified_ms=None if modified is None else int(modified))
    if amended is None:
        return error_response(404, f"no {entity} record {rid!r}")
    return _ok(amended)


async def _stats(engine: Engine, request: Request) -> Response:
    return _ok(engine.stats_snapshot())


async def _faults(engine: Engine, request: Request) -> Response:
    if request.method == "POST":
        body = await request.body()
        try:
            changes = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            return error_response(400, "the body must be a JSON object of fault settings")
        if not isinstance(changes, dict):
            return error_response(400, "the body must be a JSON object of fault settings")
        engine.set_faults(**changes)
    return _ok(engine.injector.faults.as_dict())


async def _truth(engine: Engine, request: Request) -> Response:
    with engine.lock:
        frames = engine.dataset.truth()
    table = request.query_params.get("table")
    if not table:
        return _ok({name: {"rows": df.height, "columns": df.columns} for name, df in frames.items()})
    if table not in frames:
        return error_response(404, f"unknown table {table!r}; valid: {', '.join(frames)}")
    return json_response(200, frames[table].write_json().encode())


async def _reset(engine: Engine, request: Request) -> Response:
    engine.stats.reset()
    return _ok({"reset": True})


class _DropCutConnections(logging.Filter):
    """Injected connection cuts are faults, not server errors: keep them out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _is_cut(record.exc_info[1] if record.exc_info else None)


def _is_cut(exc: BaseException | None, depth: int = 0) -> bool:
    if exc is None or depth > 8:
        return False
    if isinstance(exc, ConnectionCut):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_cut(e, depth + 1) for e in exc.exceptions)
    return _is_cut(exc.__cause__ or exc.__context__, depth + 1)


def quiet_cut_connections() -> None:
    """Install the log filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropCutConnections) for f in logger.filters):
        logger.addFilter(_DropCutConnections())
