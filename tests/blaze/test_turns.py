"""Windows fetched side by side and handed out in turn (``blaze/turns.py``), without HTTP: a
window is a number and its pages are strings. The client's use of it runs against the simulator
in ``test_client_sim.py``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from blaze_workbook.blaze.turns import Turn, fetch_in_turn

pytestmark = pytest.mark.timeout(60)


def test_pages_come_in_window_order_though_later_windows_finish_first():
    """Window 0 gives its last page only once window 1 has given all of its own: the consumer
    still sees every page of window 0 first."""
    one_done = threading.Event()

    def pages_of(k: int) -> Iterator[str]:
        if k == 0:
            yield "0a"
            assert one_done.wait(30), "window 1 never ran beside window 0"
            yield "0b"
        else:
            yield from (f"{k}a", f"{k}b", f"{k}c")
            if k == 1:
                one_done.set()

    assert list(fetch_in_turn(range(4), pages_of, workers=2)) == [
        "0a", "0b", "1a", "1b", "1c", "2a", "2b", "2c", "3a", "3b", "3c"
    ]


def test_one_worker_runs_in_the_consumers_thread():
    threads = []

    def pages_of(k: int) -> Iterator[int]:
        threads.append(threading.current_thread())
        yield k

    assert list(fetch_in_turn([5, 6], pages_of, workers=1)) == [5, 6]
    assert threads == [threading.current_thread()] * 2


def test_the_first_error_is_raised_to_the_consumer():
    def pages_of(k: int) -> Iterator[int]:
        if k == 2:
            raise ValueError("window 2 broke")
        yield k

    got = []
    with pytest.raises(ValueError, match="window 2 broke"):
        for page in fetch_in_turn(range(6), pages_of, workers=3):
            got.append(page)
    assert got == [0, 1][: len(got)]


def test_a_consumer_stopping_early_stops_the_workers():
    """Endless windows: closing the generator returns (the workers see the stop) and every
    window that started was closed."""
    closed = []

    def pages_of(k: int) -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(k)

    pages = fetch_in_turn(range(10), pages_of, workers=3)
    assert [next(pages) for _ in range(5)] == [0, 1, 2, 3, 4]
    pages.close()
    assert closed and set(closed) <= {0, 1, 2}


def test_the_turn_moving_on_lets_the_next_window_start():
    turn, stop = Turn(ahead=2), threading.Event()
    assert turn.wait_for(0, stop) and turn.wait_for(1, stop)
    allowed: list[bool] = []
    waiter = threading.Thread(target=lambda: allowed.append(turn.wait_for(2, stop)))
    waiter.start()
    turn.advance()
    waiter.join(30)
    assert allowed == [True] and turn.now == 1


def test_a_stop_releases_a_window_waiting_for_its_turn():
    turn, stop = Turn(ahead=1), threading.Event()
    allowed: list[bool] = []
    waiter = threading.Thread(target=lambda: allowed.append(turn.wait_for(3, stop)))
    waiter.start()
    stop.set()
    waiter.join(30)
    assert allowed == [False] and turn.now == 0
