"""Where gradings run in grade all and batch: pools by clock, results in the caller's order."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError
from types import SimpleNamespace
from typing import Any

import pytest

from grader._schedule import CoreMeter, Load, Pool, Scheduler


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

    clocks = ["virtual", "realtime", "mixed", "own"]
    with Scheduler(1) as scheduler:
        scheduler.run_all([(_ex(c), lambda i=i: job(i)) for i, c in enumerate(clocks)])
    # Checks on the real clock mostly sleep: realtime and mixed exercises. An
    # own-clock loop (27) computes, so it takes a busy slot.
    assert [where[i].startswith("grade-realtime") for i in range(4)] == [False, True, True, False]
    assert all(where[i].startswith("grade-busy") for i in (0, 3))


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
        _ex("own", 60, 3),
        _ex("virtual", 90, 4),
        _ex("own", 90, 5),
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


def _start_order(queued: list[tuple[Any, str, int]]) -> list[str]:
    """The order in which one busy slot, held until all are queued, starts these.

    ``queued``: (exercise, name, submission's place in the batch), queued in
    this order.
    """
    started: list[str] = []
    running, release = threading.Event(), threading.Event()

    def job(name: str) -> str:
        started.append(name)
        if name == "hold":
            running.set()
            assert release.wait(30), "never released"
        return name

    with Scheduler(1, meter=lambda: None) as scheduler:
        hold = scheduler.submit(_ex("virtual"), lambda: job("hold"))
        assert running.wait(30)
        futures = [
            scheduler.submit(ex, lambda name=name: job(name), group=group)
            for ex, name, group in queued
        ]
        release.set()
        for future in [hold, *futures]:
            future.result()
    assert started[0] == "hold"
    return started[1:]


def test_a_long_grading_of_a_later_submission_overtakes_waiting_short_ones() -> None:
    # The own-clock grading queued last runs first (longest first across submissions).
    shorts = [(_ex("virtual"), f"short {i}", 0) for i in range(3)]
    started = _start_order([*shorts, (_ex("own", 90, 27), "long", 1)])
    assert started == ["long", "short 0", "short 1", "short 2"]


def test_short_gradings_go_submission_by_submission_after_every_long_one() -> None:
    # The second submission's gradings are queued first; its own-clock grading
    # still runs first (long ones first across submissions), but then the first
    # submission's short ones go before its short ones, whatever their
    # exercises: rows then finish in order.
    started = _start_order(
        [
            (_ex("virtual", 60, 2), "second: 02", 1),
            (_ex("virtual", 90, 9), "second: 09", 1),
            (_ex("own", 60, 27), "second: 27", 1),
            (_ex("virtual", 60, 2), "first: 02", 0),
            (_ex("virtual", 90, 9), "first: 09", 0),
            (_ex("own", 60, 27), "first: 27", 0),
        ]
    )
    assert started == [
        "first: 27",
        "second: 27",
        "first: 09",
        "first: 02",
        "second: 09",
        "second: 02",
    ]


class _Gate:
    """A job that holds its slot until released, and says when it started."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        assert self.release.wait(30), "never released"
        return "done"


def test_an_idle_core_lends_one_more_slot_and_pressure_takes_it_back() -> None:
    pool = Pool(1, 2, "test")
    try:
        asleep, waiting, third = _Gate(), _Gate(), _Gate()
        futures = [pool.submit((), asleep), pool.submit((), waiting)]
        assert asleep.started.wait(30)
        # One slot, taken by a grading that sleeps: a core is idle.
        assert pool.tick(Load(idle=0.2, stalled=0.0)) == 0  # not idle enough
        assert pool.tick(Load(idle=1.0, stalled=0.0)) == 1
        assert waiting.started.wait(30)
        assert (pool.running, pool.allowed) == (2, 2)
        futures.append(pool.submit((), third))
        assert pool.tick(Load(idle=1.0, stalled=0.0)) == 0  # at the cap
        # Tasks now wait for a core: the lent slot is taken back, nothing is stopped,
        # and the next grading to end is not replaced.
        assert pool.tick(Load(idle=0.0, stalled=0.9)) == -1
        assert (pool.running, pool.allowed) == (2, 1)
        assert pool.tick(Load(idle=0.0, stalled=0.9)) == 0  # never below one per core
        asleep.release.set()
        assert futures[0].result(30) == "done"
        assert not third.started.is_set()
        waiting.release.set()
        assert third.started.wait(30)
        third.release.set()
        assert [f.result(30) for f in futures] == ["done"] * 3
    finally:
        for gate in (asleep, waiting, third):
            gate.release.set()
        pool.close()


def test_no_slot_is_lent_without_a_reading_or_a_waiting_grading() -> None:
    pool = Pool(1, 2, "test")
    try:
        gate = _Gate()
        future = pool.submit((), gate)
        assert gate.started.wait(30)
        assert pool.tick(None) == 0
        assert pool.tick(Load(idle=2.0, stalled=0.0)) == 0  # nobody waits
        # Without pressure figures, a busy machine is one with no idle core.
        assert pool.tick(Load(idle=0.05, stalled=None)) == 0
        gate.release.set()
        assert future.result(30) == "done"
    finally:
        gate.release.set()
        pool.close()


def test_a_failing_grading_fails_its_future_only() -> None:
    def boom() -> str:
        raise ValueError("boom")

    with Scheduler(1, meter=lambda: None) as scheduler:
        bad = scheduler.submit(_ex("virtual"), boom)
        good = scheduler.submit(_ex("virtual"), lambda: "fine")
        assert good.result(30) == "fine"
        assert isinstance(bad.exception(30), ValueError)


def test_the_meter_reads_idle_cores_and_cpu_pressure(tmp_path: Any) -> None:
    stat, pressure = tmp_path / "stat", tmp_path / "pressure"

    def write(total_busy: int, idle: int, iowait: int, stalled_us: int | None) -> None:
        # user nice system idle iowait irq softirq
        stat.write_text(f"cpu  {total_busy} 0 0 {idle} {iowait} 0 0\ncpu0 ...\n")
        if stalled_us is not None:
            pressure.write_text(
                f"some avg10=0.00 avg60=0.00 avg300=0.00 total={stalled_us}\n"
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
            )

    write(1000, 1000, 0, 5_000_000)
    meter = CoreMeter(stat, pressure, cores=2)
    assert meter.readable()
    # 100 jiffies passed: 25 busy, 70 idle, 5 iowait; 3/4 of two cores were idle.
    write(1025, 1070, 5, 5_000_000)
    load = meter.read()
    assert load is not None
    assert load.idle == 1.5
    assert load.stalled == 0.0
    # Without /proc/pressure (older kernels, or turned off), only idleness is known.
    pressure.unlink()
    write(1125, 1070, 5, None)
    load = meter.read()
    assert load is not None and load.idle == 0.0 and load.stalled is None
    stat.write_text("nonsense\n")
    assert meter.read() is None
    assert not CoreMeter(tmp_path / "missing", pressure).readable()


def test_an_interrupt_cancels_the_queued_gradings_and_lets_the_running_one_finish() -> None:
    # Ctrl-C in grade all or batch: the grading running finishes, nothing queued
    # behind it runs, and waiting on a queued one says it was cancelled.
    queued_cancelled = threading.Event()
    ran: list[str] = []

    started = threading.Event()

    def running() -> str:
        started.set()
        # Ends only once the interrupt has cancelled the queued grading.
        assert queued_cancelled.wait(30), "the queued grading was not cancelled"
        ran.append("running")
        return "finished"

    with pytest.raises(KeyboardInterrupt), Scheduler(1, meter=lambda: None) as scheduler:
        first = scheduler.submit(_ex("virtual"), running)
        queued = scheduler.submit(_ex("virtual"), lambda: ran.append("queued"))
        queued.add_done_callback(lambda f: f.cancelled() and queued_cancelled.set())
        assert started.wait(30)
        raise KeyboardInterrupt
    assert first.result(0) == "finished"
    assert queued.cancelled()
    assert ran == ["running"]
    with pytest.raises(CancelledError):
        queued.result(0)


def test_a_cancelled_pool_refuses_new_jobs_quietly() -> None:
    pool = Pool(1, 1, "test")
    try:
        pool.cancel_queued()
        late = pool.submit((), lambda: "never")
        assert late.cancelled()
    finally:
        pool.close()
