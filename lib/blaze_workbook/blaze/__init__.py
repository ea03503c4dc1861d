"""The BLAZE Partner API: endpoints as data, paging and windows, the retry and rate policy, the client.

The simulator lives in :mod:`blaze_workbook.blaze.simulator`. Names are imported on first use,
so loading the simulator (or one small module) does not pull in httpx, tenacity or polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import BlazeClient
    from .endpoints import API_PREFIX, ENDPOINTS, DateFormat, EndpointSpec, Envelope, Paging, endpoint
    from .limiter import CallBudget
    from .metrics import CallMetrics, CallRecord
    from .pages import RawPage, RawResponse
    from .paging import DayWindow, MillisWindow, OffsetPaginator, Window, WindowStepper, local_day, to_ms
    from .retry import RetryPolicy

_EXPORTS = {
    "BlazeClient": ".client",
    "RawPage": ".pages",
    "RawResponse": ".pages",
    "API_PREFIX": ".endpoints",
    "ENDPOINTS": ".endpoints",
    "DateFormat": ".endpoints",
    "EndpointSpec": ".endpoints",
    "Envelope": ".endpoints",
    "Paging": ".endpoints",
    "endpoint": ".endpoints",
    "CallBudget": ".limiter",
    "CallMetrics": ".metrics",
    "CallRecord": ".metrics",
    "DayWindow": ".paging",
    "MillisWindow": ".paging",
    "OffsetPaginator": ".paging",
    "Window": ".paging",
    "WindowStepper": ".paging",
    "local_day": ".paging",
    "to_ms": ".paging",
    "RetryPolicy": ".retry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
