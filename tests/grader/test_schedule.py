"""Where gradings run in grade all and batch: pools by clock, results in the caller's order."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from grader._schedule import Scheduler


def _ex(clock: str, wall_limit: float = 60.0, number: int = 1) -> Any:
    # The scheduler reads only these three fields.
    return SimpleNamespace(clock=clock, wall_limit=wall_limit, number=number)


def test_results_come_back_in_the_order_given_whatever_the_pool() -> None:
    clocks = ["virtual", "realtime", "mixed", "realtime", "virtual", "own"]
    with Scheduler(2) as scheduler:
        got = scheduler.run_all([(_ex(c), lambda i=i: i) for i, c in enumerate(clocks)])
    assert got == list(range(len(clocks)))


def test_real_clock_gradings_get_their_own_slots() -> None:
    where: dict[int, str] = {}

    def job(i: int) -> int:
        where[i] = threading.current_thread().name
        return i

    clocks = ["virtual", "realtime", "mixed", "realtime"]
    with Scheduler(1) as scheduler:
        scheduler.run_all([(_ex(c), lambda i=i: job(i)) for i, c in enumerate(clocks)])
    assert [where[i].startswith("grade-realtime") for i in range(4)] == [False, True, False, True]
    assert all(where[i].startswith("grade-busy") for i in (0, 2))


def test_a_realtime_grading_can_run_while_every_busy_slot_is_taken() -> None:
    # The one busy slot waits until the realtime grading has run: with a shared
    # pool of one this would deadlock (the test would time out).
    ran = threading.Event()

    def busy() -> str:
        assert ran.wait(30), "the realtime grading never started"
        return "busy"

    def realtime() -> str:
        ran.set()
        return "realtime"

    with Scheduler(1) as scheduler:
        got = scheduler.run_all([(_ex("virtual"), busy), (_ex("realtime"), realtime)])
    assert got == ["busy", "realtime"]


def test_likely_longest_gradings_start_first() -> None:
    started: list[int] = []

    def job(i: int) -> int:
        started.append(i)
        return i

    exercises = [
        _ex("virtual", 60, 2),
        _ex("mixed", 60, 3),
        _ex("virtual", 90, 4),
        _ex("mixed", 90, 5),
    ]
    # One busy slot: the four run one after another, in the order submitted.
    with Scheduler(1) as scheduler:
        scheduler.run_all([(e, lambda i=i: job(i)) for i, e in enumerate(exercises)])
    assert started == [3, 1, 2, 0]


def test_gradings_with_the_same_key_run_once_and_share_the_result() -> None:
    runs: list[str] = []
    lock = threading.Lock()

    def job(name: str) -> str:
        with lock:
            runs.append(name)
        return f"verdict of {name}"

    with Scheduler(2) as scheduler:
        first = scheduler.run_all(
            [(_ex("virtual"), lambda: job("a")), (_ex("realtime"), lambda: job("b"))],
            keys=[("01", "same"), ("02", "other")],
        )
        # A later submission of the same files, and one grading without a key.
        second = scheduler.run_all(
            [
                (_ex("virtual"), lambda: job("a again")),
                (_ex("realtime"), lambda: job("b again")),
                (_ex("virtual"), lambda: job("c")),
                (_ex("virtual"), lambda: job("c again")),
            ],
            keys=[("01", "same"), ("02", "other"), None, None],
        )
    assert first == ["verdict of a", "verdict of b"]
    assert second == ["verdict of a", "verdict of b", "verdict of c", "verdict of c again"]
    assert sorted(runs) == ["a", "b", "c", "c again"]
