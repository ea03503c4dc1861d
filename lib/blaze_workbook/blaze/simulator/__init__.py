"""The Blaze simulator: a real HTTP server that behaves like the BLAZE Partner API.

See ``docs/simulator.md``. Four ways in: :func:`serve` (a thread, for tests and notebooks),
:func:`start_background` (a child process), :func:`build_app` (ASGI, for ``httpx.ASGITransport``)
and ``blaze-workbook simulate``.

Names are imported on first use, so that ``params`` or ``faults`` load without the data layer,
uvicorn and polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import build_app as build_app
    from .dataset import Dataset as Dataset
    from .faults import Faults as Faults
    from .server import BackgroundSimulator as BackgroundSimulator
    from .server import Simulator as Simulator
    from .server import serve as serve
    from .server import start_background as start_background
    from .settings import SimulatorConfig as SimulatorConfig

_EXPORTS = {
    "BackgroundSimulator": ".server",
    "Dataset": ".dataset",
    "Faults": ".faults",
    "Simulator": ".server",
    "SimulatorConfig": ".settings",
    "build_app": ".app",
    "serve": ".server",
    "start_background": ".server",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
