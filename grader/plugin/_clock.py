"""The virtual clock: looptime's loop plus what looptime cannot do for a grader.

looptime supplies the time compaction: integer ticks (no float drift), idle
waits skipped, and stepping in real time while an executor job runs, so the
clock never jumps past a timer while a thread works. This module adds, around
it, what a grader needs and looptime does not offer:

* per-callback real-time and CPU-time measurement for the blocking gate
  (``Monitor``), through a ``_ready`` deque that timestamps each handle;
* busy-wait detection: many loop cycles in a row that run callbacks at the
  same loop instant mean the code is spinning (``await asyncio.sleep(0)`` in a
  loop), which on a virtual clock would otherwise spin forever;
* a deadlock bound: when nothing is scheduled and no real work (thread,
  executor) is in flight, or the next timer lies beyond the test's horizon,
  the loop raises :class:`Deadlock` with every task's stack instead of hanging.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import looptime

__all__ = [
    "BUSY_WAIT_CYCLES",
    "BusyWait",
    "Deadlock",
    "LoopStats",
    "Monitor",
    "VirtualLoop",
    "task_location",
]

# Loop cycles in a row, each running callbacks at one loop instant, that count
# as busy-waiting. Correct code in this course needs a few hundred at most
# (a queue hand-off at one instant costs about two per item).
BUSY_WAIT_CYCLES = 20_000
# Real seconds to wait for outside I/O when nothing at all is scheduled. Threads
# the clock knows of (executors, to_thread) are waited for without this bound;
# only a raw thread calling call_soon_threadsafe would need it, and such checks
# run @realtime.
IDLE_GRACE_S = 0.1
# Blocking-gate thresholds for one callback: CPU time on the loop thread
# (a spin; preemption by other load does not inflate it) and wall time
# (blocking I/O; generous because a loaded CI box can deschedule the thread).
CPU_LIMIT_S = 0.025
WALL_LIMIT_S = 0.25

_real_perf = time.perf_counter
_real_thread_time = time.thread_time


class Deadlock(Exception):
    """The loop would wait forever (or past the test's horizon)."""


class BusyWait(Exception):
    """The loop kept running callbacks at one instant without time passing."""


@dataclass(frozen=True)
class BlockingEvent:
    """One callback that held the loop thread too long."""

    wall_s: float
    cpu_s: float
    location: str | None  # file:line in the submission, when found
    what: str  # "time.sleep(0.3)", "a CPU-bound stretch", "a blocking call"


@dataclass
class LoopStats:
    """Counters a suite can read (e.g. exercise 06's loop-iteration budget)."""

    cycles_with_callbacks: int = 0
    callbacks: int = 0
    instants: list[float] = field(default_factory=list)  # every loop time the clock jumped to


def frame_location(frame: FrameType | None, filename: str | None) -> str | None:
    """The innermost ``file:line`` of ``filename`` in the stack ending at ``frame``."""
    while frame is not None:
        if filename is not None and frame.f_code.co_filename == filename:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def task_location(task: asyncio.Task[Any], filename: str | None) -> str | None:
    """Where ``task``'s coroutine chain is suspended inside ``filename``, if anywhere."""
    coro: Any = task.get_coro()
    found: str | None = None
    seen = 0
    while coro is not None and seen < 50:
        seen += 1
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and frame.f_code.co_filename == filename:
            found = f"{filename}:{frame.f_lineno}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if found is None and filename is not None:
        # A task running a plain function of the submission (rare): its name.
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and code.co_filename == filename:
            found = f"{filename}:{code.co_firstlineno}"
    return found


class Monitor:
    """Measures callbacks on the loop thread and samples where a long one is.

    One ``Monitor`` lives for the whole child session. ``submission_file`` is the
    path of the imported submission, used to name the student's line. A daemon
    watchdog thread samples the loop thread's stack while a callback has been
    running for more than a few milliseconds, so a spin or a blocking call is
    named by its line even though the callback only returns afterwards.
    """

    def __init__(self) -> None:
        self.enabled = False
        self.submission_file: str | None = None
        self.display_name: str | None = None
        self.events: list[BlockingEvent] = []
        self.loop_thread = threading.get_ident()
        self._seq = 0
        self._current: tuple[int, float, float] | None = None  # seq, wall0, cpu0
        self._samples: dict[int, str] = {}
        self._sleep_reported: int = -1
        self._watchdog: threading.Thread | None = None
        self._gc_spent = 0.0
        self._gc_started: float | None = None
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != self.loop_thread:
            return
        if phase == "start":
            self._gc_started = _real_perf()
        elif self._gc_started is not None:
            self._gc_spent += _real_perf() - self._gc_started
            self._gc_started = None

    # -- the loop side ---------------------------------------------------
    def handle_started(self) -> None:
        self.handle_ended()
        self._seq += 1
        self._current = (self._seq, _real_perf(), _real_thread_time())
        self._gc_spent = 0.0

    def handle_ended(self) -> None:
        cur = self._current
        if cur is None:
            return
        self._current = None
        seq, wall0, cpu0 = cur
        # Garbage collection is the interpreter's work, not the learner's:
        # a collection that happens to run inside a callback is not blocking.
        wall = _real_perf() - wall0 - self._gc_spent
        cpu = _real_thread_time() - cpu0 - self._gc_spent
        if not self.enabled or seq == self._sleep_reported:
            return
        sample = self._samples.get(seq)
        if sample == _OUTSIDE:
            # The stretch was seen running in grader or test code, not the submission's.
            self._samples.pop(seq, None)
            return
        if cpu >= CPU_LIMIT_S or wall >= WALL_LIMIT_S:
            what = "a CPU-bound stretch" if cpu >= CPU_LIMIT_S else "a blocking call"
            self.events.append(BlockingEvent(wall, cpu, self._samples.pop(seq, None), what))
            if self.events[-1].location == _OUTSIDE:
                self.events.pop()
        self._samples.pop(seq, None)

    def abandon(self) -> None:
        """Forget the running callback without judging it (the cycle raised)."""
        self._current = None

    def display(self, location: str | None) -> str | None:
        """``location`` with the sandbox path replaced by the learner's file name."""
        if location is None or self.submission_file is None:
            return location
        return location.replace(self.submission_file, self.display_name or self.submission_file)

    def in_callback(self) -> bool:
        return self._current is not None and threading.get_ident() == self.loop_thread

    def report_sleep(self, seconds: float, frame: FrameType | None) -> None:
        """``time.sleep`` was called on the loop thread inside a callback."""
        if not self.enabled or self._current is None:
            return
        self._sleep_reported = self._current[0]
        loc = frame_location(frame, self.submission_file)
        self.events.append(BlockingEvent(seconds, 0.0, loc, f"time.sleep({seconds:g})"))

    # -- the watchdog side -----------------------------------------------
    def start_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch, name="grader-watchdog", daemon=True
            )
            self._watchdog.start()

    def _watch(self) -> None:
        real_sleep = _REAL_SLEEP
        while True:
            real_sleep(0.005)
            cur = self._current
            if cur is None or cur[0] in self._samples:
                continue
            if _real_perf() - cur[1] < 0.01:
                continue
            frame = sys._current_frames().get(self.loop_thread)
            loc = frame_location(frame, self.submission_file)
            # No frame of the submission on the stack: the time goes to the
            # grader or the check itself (e.g. a check calling gc.collect()).
            self._samples[cur[0]] = loc if loc is not None else _OUTSIDE

    def last_seen(self) -> str | None:
        """The most recent sampled location (for a callback that never returned)."""
        cur = self._current
        if cur is not None and self._samples.get(cur[0], _OUTSIDE) != _OUTSIDE:
            return self._samples[cur[0]]
        frame = sys._current_frames().get(self.loop_thread)
        return frame_location(frame, self.submission_file)


_REAL_SLEEP = time.sleep
_OUTSIDE = "<outside the submission>"


class _TimedReady(collections.deque):  # type: ignore[type-arg]
    """The loop's ready queue; popping a handle marks the start of its run.

    ``BaseEventLoop._run_once`` pops each handle right before running it and
    runs nothing else in between, so the time between two pops (or a pop and
    the end of the cycle) is the callback's own time.
    """

    monitor: Monitor
    stats: LoopStats

    def popleft(self) -> Any:
        handle = super().popleft()
        self.monitor.handle_started()
        self.stats.callbacks += 1
        return handle


class VirtualLoop(looptime.LoopTimeEventLoop, asyncio.SelectorEventLoop):
    """A selector loop on looptime's virtual clock, instrumented for grading.

    ``horizon`` bounds the loop time a test may reach before it is declared
    stuck; ``describe_tasks`` formats the task stacks for the deadlock message.
    """

    def __init__(
        self,
        monitor: Monitor,
        *,
        horizon: float = 600.0,
        describe_tasks: Callable[[VirtualLoop], str] | None = None,
    ) -> None:
        # noop_cycles=1: one empty cycle before a jump is enough here; looptime's
        # default of 42 only matters for I/O arriving "just now", and it costs time.
        super().__init__(start=0.0, noop_cycles=1)
        self.monitor = monitor
        self.stats = LoopStats()
        self.horizon = horizon
        self._describe = describe_tasks
        self._external = 0
        ready = _TimedReady(getattr(self, "_ready"))  # noqa: B009 - set by BaseEventLoop
        ready.monitor = monitor
        ready.stats = self.stats
        self._ready = ready
        self._same_instant_cycles = 0
        self._last_instant = -1.0
        self._inner_select = self._selector.select
        # looptime keeps the selector's own select() under a private name; the
        # deadlock bound needs it to wait on real I/O without moving the clock.
        self._real_select = getattr(self, "_LoopTimeEventLoop__original_select")  # noqa: B009
        self._selector.select = self._select  # type: ignore[method-assign,assignment]

    # -- cycle accounting ------------------------------------------------
    def _run_once(self) -> None:
        before = self.stats.callbacks
        now = self.time()
        try:
            super()._run_once()  # type: ignore[misc]
        except BaseException:
            self.monitor.abandon()
            raise
        self.monitor.handle_ended()
        if self.time() != now:
            self.stats.instants.append(self.time())
        ran = self.stats.callbacks - before
        if ran:
            self.stats.cycles_with_callbacks += 1
        if ran and now == self._last_instant and self.time() == now:
            self._same_instant_cycles += 1
            if self._same_instant_cycles >= BUSY_WAIT_CYCLES:
                self._same_instant_cycles = 0
                raise BusyWait(self._busy_message(now))
        else:
            self._same_instant_cycles = 0
            self._last_instant = now

    def _busy_message(self, now: float) -> str:
        spinning = [
            self.monitor.display(loc)
            for t in asyncio.all_tasks(self)
            if (loc := task_location(t, self.monitor.submission_file)) is not None
        ]
        where = f" (your task was at {spinning[0]})" if spinning else ""
        return (
            f"busy-waiting: your code kept the loop running at t={now:g} s for "
            f"{BUSY_WAIT_CYCLES} cycles in a row without letting time pass{where}. "
            "Polling with `await asyncio.sleep(0)` in a loop never lets the clock move; "
            "wait on an Event, a Condition or a Future instead"
        )

    # -- deadlock bound --------------------------------------------------
    def _real_work_pending(self) -> bool:
        futures = getattr(self, "_LoopTimeEventLoop__sync_futures")  # noqa: B009
        return self._external > 0 or any(not f.done() for f in futures)

    def _select(self, timeout: float | None) -> list[tuple[Any, Any]]:
        if timeout is None and not self._real_work_pending():
            ready: list[tuple[Any, Any]] = self._real_select(0)
            if not ready:
                ready = self._real_select(IDLE_GRACE_S)
            if ready:
                return ready
            raise Deadlock(self._deadlock_message(None))
        beyond = timeout is not None and timeout > 0 and self.time() + timeout > self.horizon
        if beyond and not self._real_work_pending():
            assert timeout is not None
            raise Deadlock(self._deadlock_message(self.time() + timeout))
        result: list[tuple[Any, Any]] = self._inner_select(timeout)
        return result

    def _deadlock_message(self, next_timer: float | None) -> str:
        now = self.time()
        if next_timer is None:
            head = (
                f"deadlock: at t={now:g} s every task was waiting and nothing was "
                "scheduled to wake any of them"
            )
        else:
            head = (
                f"stuck: at t={now:g} s the only thing left to happen was a timer at "
                f"t={next_timer:g} s, past this check's limit of {self.horizon:g} s"
            )
        stacks = self._describe(self) if self._describe is not None else ""
        return head + (f"\n{stacks}" if stacks else "")

    async def shutdown_default_executor(self, *args: Any, **kwargs: Any) -> None:
        # Joining executor threads is real work the clock must wait for.
        self._external += 1
        try:
            await super().shutdown_default_executor(*args, **kwargs)
        finally:
            self._external -= 1

    def run_real_work(self, coro: Coroutine[Any, Any, Any]) -> Coroutine[Any, Any, Any]:
        """Mark ``coro`` as waiting on real work (a thread the clock cannot see)."""

        async def wrapped() -> Any:
            self._external += 1
            try:
                return await coro
            finally:
                self._external -= 1

        return wrapped()
