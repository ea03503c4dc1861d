"""Entities side by side (``sync/together.py``): lanes, results in order, one failure stops all.

Threads only, no network: the engine running its entities this way against the simulator is in
``test_sync_e2e.py`` (every run there goes through :class:`Crew`).
"""

from __future__ import annotations

import threading
import time

import pytest

from blaze_workbook.errors import ServerError
from blaze_workbook.sync.together import LANES, Crew, Stopped, lanes


@pytest.mark.parametrize(("entities", "expected"), [
    (("members", "transactions", "products"), {"transactions": ["transactions"], "members+products": ["members", "products"]}),
    (("members", "products"), {"members+products": ["members", "products"]}),
    (("products", "transactions"), {"transactions": ["transactions"], "products": ["products"]}),
    (("members", "extra"), {"members": ["members"], "extra": ["extra"]}),
    ((), {}),
])
def test_lanes_group_the_entities_asked_for_and_run_each_lane_in_turn(entities, expected):
    grouped = lanes({name: (lambda name=name: name) for name in entities}, LANES)
    assert {name: job() for name, job in grouped.items()} == expected


def test_every_lane_runs_at_once_and_the_results_come_back_by_name():
    started = threading.Barrier(3, timeout=30)  # each job waits for the other two: they must run at once

    def job(value: int) -> int:
        started.wait()
        return value * 10

    assert Crew().run({"a": lambda: job(1), "b": lambda: job(2), "c": lambda: job(3)}) == {"a": 10, "b": 20, "c": 30}


def test_one_failure_stops_the_others_at_their_next_check_and_is_the_error_raised():
    crew = Crew()
    failing = threading.Event()
    checks: list[str] = []

    def fails() -> None:
        failing.set()
        raise ServerError("the API is down")

    def keeps_going() -> None:
        failing.wait(30)
        while True:  # a page at a time, as an entity does
            checks.append("page")
            crew.check()
            time.sleep(0.001)

    with pytest.raises(ServerError, match="the API is down"):
        crew.run({"keeps": keeps_going, "fails": fails})
    # the endless one ended (run returned) by raising Stopped, which is not what the crew raised
    assert checks
    with pytest.raises(Stopped):
        crew.check()


def test_a_single_lane_runs_in_the_calling_thread():
    caller = threading.get_ident()
    assert Crew().run({"only": threading.get_ident}) == {"only": caller}
