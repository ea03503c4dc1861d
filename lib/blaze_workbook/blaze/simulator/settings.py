"""How a simulator is set up: one frozen dataclass, the same for the CLI, tests and notebooks."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ...config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY
from .faults import Faults
from .ratelimit import Clock


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator needs; ``repr`` never shows the keys.

    ``partner_key``/``developer_key`` ``None`` means ``BLAZE_PARTNER_KEY`` /
    ``BLAZE_DEVELOPER_KEY`` from the environment, else the demo keys. ``clock`` drives the rate
    limit and the statistics windows only (tests pass a fake one); latency and hang faults sleep
    for real.
    """

    scale: str = "demo"
    seed: int = 0
    #: the simulator's "now" as epoch ms; ``None`` is the preset's fixed default
    now_ms: int | None = None
    host: str = "127.0.0.1"
    port: int = 0
    partner_key: str | None = field(default=None, repr=False)
    developer_key: str | None = field(default=None, repr=False)
    rate_limit_calls: int = 10_000
    rate_limit_seconds: float = 300.0
    #: live mode: apply this many dataset events after every accepted API call
    live_events_per_call: int = 0
    faults: Faults = field(default_factory=Faults)
    clock: Clock = field(default=time.monotonic, repr=False, compare=False)
    #: uvicorn log level for served simulators
    log_level: str = "warning"

    def accepted_keys(self) -> tuple[str, str]:
        """The accepted (partner, developer) keys."""
        partner = self.partner_key or os.environ.get("BLAZE_PARTNER_KEY") or DEMO_PARTNER_KEY
        developer = self.developer_key or os.environ.get("BLAZE_DEVELOPER_KEY") or DEMO_DEVELOPER_KEY
        return partner, developer

    def with_(self, **changes: Any) -> SimulatorConfig:
        """A copy with ``changes``."""
        return replace(self, **changes)
