"""The watchdog behind the deadline (api/deadline.py): it cancels a call once its deadline has
passed, again while the call goes on, and never after the call has left."""

from __future__ import annotations

import threading
import time

from orderitems.api.deadline import REPEAT, Watchdog
from processes import wait_until


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def inc(self) -> None:
        with self.lock:
            self.value += 1

    def dec(self) -> None:
        with self.lock:
            self.value -= 1


def test_a_call_past_its_deadline_is_cancelled_and_cancelled_again_while_it_runs() -> None:
    in_flight = Counter()
    watchdog = Watchdog(in_flight=in_flight)
    cancels: list[float] = []
    started = time.monotonic()
    with watchdog.watch(started + 0.1, lambda: cancels.append(time.monotonic())) as watch:
        assert in_flight.value == 1
        wait_until(lambda: len(cancels) >= 3, timeout=10, message="repeated while the call ran")
        assert watch.fired
    count = len(cancels)
    # Nothing to poll for: this waits out three repeats to see that none comes after the call.
    time.sleep(3 * REPEAT)
    watchdog.close()
    assert in_flight.value == 0
    assert cancels[0] - started >= 0.1
    assert count >= 3, "repeated while the call ran"
    assert len(cancels) == count, "never after the call left"


def test_a_call_that_ends_in_time_is_never_cancelled() -> None:
    watchdog = Watchdog()
    cancels: list[int] = []
    with watchdog.watch(time.monotonic() + 0.2, lambda: cancels.append(1)) as watch:
        time.sleep(0.05)  # the call's own work, well inside its deadline
    # Nothing to poll for: this waits past the deadline to see that no cancel comes.
    time.sleep(0.3)
    watchdog.close()
    assert not watch.fired
    assert cancels == []


def test_an_earlier_deadline_registered_later_is_still_honoured() -> None:
    watchdog = Watchdog()
    fired: list[str] = []
    with watchdog.watch(time.monotonic() + 10, lambda: fired.append("late")):
        with watchdog.watch(time.monotonic() + 0.05, lambda: fired.append("early")) as early:
            wait_until(lambda: early.fired, timeout=10, message="the early deadline fired")
    watchdog.close()
    assert set(fired) == {"early"}
