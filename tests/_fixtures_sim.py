"""Fixtures for a running simulator (imported by ``tests/conftest.py``).

``sim`` is one tiny simulator for the whole session, served over 127.0.0.1 with the rate limit
off and no faults: tests that change faults, the clock or the data start their own with
``serve(...)`` (or restore what they changed).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY

#: the headers a client sends to a simulator with the default keys
SIM_HEADERS = {"partner_key": DEMO_PARTNER_KEY, "x-api-key": DEMO_PARTNER_KEY, "Authorization": DEMO_DEVELOPER_KEY}


class FakeClock:
    """A clock that only moves when told: for rate-limit windows without sleeping."""

    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def tiny_config(**changes):
    """A tiny-preset ``SimulatorConfig`` with the demo keys (whatever the environment says)."""
    from blaze_workbook.blaze.simulator import SimulatorConfig

    base = {"scale": "tiny", "partner_key": DEMO_PARTNER_KEY, "developer_key": DEMO_DEVELOPER_KEY}
    return SimulatorConfig(**{**base, **changes})


@pytest.fixture(scope="session")
def sim() -> Iterator[object]:
    """A tiny, fault-free simulator on 127.0.0.1 for the session (rate limit off)."""
    from blaze_workbook.blaze.simulator import serve

    with serve(tiny_config(seed=0, rate_limit_calls=0)) as running:
        yield running


@pytest.fixture()
def sim_client(sim) -> Iterator[httpx.Client]:
    """An httpx client on the session simulator's API root, keys set."""
    with httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS, timeout=30) as client:
        yield client


@pytest.fixture()
def fake_clock() -> FakeClock:
    return FakeClock()
