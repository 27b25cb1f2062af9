"""Where each grading runs when a command grades many: two pools of slots.

An exercise on the virtual clock keeps a core busy for the whole of its
grading, so those share the busy slots: one per core (``workers``), plus one
lent for as long as a core sits idle (below). An exercise with checks on the
real clock (``clock = "realtime"`` or ``"mixed"`` in its exercise.toml:
threads, processes, sockets) spends most of its grading asleep, waiting for
real time to pass, so those get slots of their own (three per core). Their
checks carry real-time windows wide enough for a loaded machine (the stress
session proves the verdicts do not move under a competing load).

In each pool the likely longest gradings start first, across every
submission in flight (the classic longest-job-first rule), so a long grading
does not start last and run alone at the end; the short ones go submission by
submission, so a batch finishes its rows in order and takes in the next
submission (and its long gradings) as early as it can.

A busy slot can still sleep: a submission that calls ``time.sleep`` where it
should await, or an own-clock loop that waits in real time, holds its slot for
seconds without using its core. So a meter reads the machine's idle time
(``/proc/stat``) and CPU pressure (``/proc/pressure/cpu``) five times a
second: while most of a core sits idle and gradings wait, one more busy slot is
lent, up to twice the slots; once tasks queue for a core, a lent slot is taken
back (the next grading to end is not replaced). Where there is no meter (not
Linux) the slots stay fixed. The stress session's load rounds grade next to a
competing load, where no slot is lent.

Each grading is still one fresh child process; this module only decides when
the parent starts it, and, for ``grade batch``, whether: gradings given the same
key (an exercise and the sha256 of the file) within one scheduler's life share
one run, as an untouched stub or a copied file is graded once per class.
The pools are small and hand-written rather than ``concurrent.futures``
executors, whose first-in-first-out queues cannot rank waiting jobs; results
still come back as ``concurrent.futures.Future`` objects, in the caller's order.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ._catalog import Exercise

__all__ = ["CoreMeter", "Load", "Pool", "Scheduler", "waits_on_real_time"]

R = TypeVar("R")


def waits_on_real_time(exercise: Exercise) -> bool:
    """Whether a grading of ``exercise`` mostly sleeps on the real clock."""
    return exercise.clock in ("realtime", "mixed")


def _rank(exercise: Exercise, group: int = 0) -> tuple[float, ...]:
    """Sort key of a grading in its pool: the lowest starts first.

    No grading has been timed yet when a command starts, so the exercise's own
    description stands in for its length: real-clock exercises, then those
    with some real-clock checks (``mixed``, ``own``), then the rest; within
    each, the larger wall limit and then the later exercise first (the classic
    longest-job-first rule). ``group`` is the submission's place in a batch:
    the possibly long gradings start first across every submission in flight,
    so a late submission's long one does not run alone at the end; the short
    ones (virtual clock) go submission by submission, so the earliest
    submissions finish first and the next ones come into flight sooner.
    """
    clock = {"realtime": 0, "mixed": 1, "own": 1}.get(exercise.clock, 2)
    if clock < 2:
        return clock, -exercise.wall_limit, -exercise.number, group
    return clock, group, -exercise.wall_limit, -exercise.number


# Real-clock slots per busy slot. Such a grading mostly sleeps (its checks wait
# on real time), so three per core keep the cores busy without starving them;
# their checks' real-time windows are sized for a saturated machine, which the
# stress session's load rounds prove.
_REALTIME_PER_CORE = 3

# The meter's period; the idle time (in cores, averaged over one period) that
# lends a slot: most of a core, so the short idle moments between two gradings
# (a fork, a sandbox being set up) lend nothing; and the CPU pressure (the share
# of the period in which some task waited for a core) that takes one back.
_TICK_S = 0.2
_IDLE_TO_LEND = 0.4
_STALL_TO_REPAY = 0.5


@dataclass(frozen=True)
class Load:
    """One reading of the meter, over the time since the previous one.

    ``idle``: cores idle on average. ``stalled``: share of that time in which
    some runnable task waited for a core (Linux's CPU pressure), or None where
    the kernel does not report it.
    """

    idle: float
    stalled: float | None


class CoreMeter:
    """Reads the machine's load from ``/proc/stat`` and ``/proc/pressure/cpu`` (Linux).

    Hand-written rather than psutil: two lines of ``/proc`` do not warrant a
    dependency, and psutil does not report CPU pressure.
    """

    def __init__(
        self,
        stat: Path = Path("/proc/stat"),
        pressure: Path = Path("/proc/pressure/cpu"),
        cores: int | None = None,
    ) -> None:
        self._stat = stat
        self._pressure = pressure
        self._cores = cores or os.cpu_count() or 1
        self._last = self._sample()

    def _sample(self) -> tuple[int, int, int | None, float] | None:
        """(all jiffies, idle jiffies, stalled microseconds, monotonic s), or None."""
        try:
            with self._stat.open(encoding="ascii") as fh:
                fields = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 5:
            return None
        stalled: int | None = None
        try:
            with self._pressure.open(encoding="ascii") as fh:
                some = fh.readline().split()
            stalled = int(some[-1].removeprefix("total="))
        except (OSError, ValueError, IndexError):
            pass
        return sum(fields), fields[3] + fields[4], stalled, time.monotonic()

    def readable(self) -> bool:
        """Whether the first reading worked (else every :meth:`read` is None)."""
        return self._last is not None

    def read(self) -> Load | None:
        """The load since the previous call; None if it cannot be read."""
        now = self._sample()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0] or now[3] <= last[3]:
            return None
        idle = self._cores * (now[1] - last[1]) / (now[0] - last[0])
        stalled = None
        if now[2] is not None and last[2] is not None:
            stalled = max(0.0, min(1.0, (now[2] - last[2]) / 1e6 / (now[3] - last[3])))
        return Load(idle, stalled)


def system_meter() -> Callable[[], Load | None] | None:
    """The machine's meter, or None where ``/proc/stat`` cannot be read."""
    meter = CoreMeter()
    return meter.read if meter.readable() else None


class Pool:
    """Worker threads that run jobs by rank: ``base`` at once, up to ``cap`` while lent.

    A job waits in the pool, not in a thread, so the rank decides across every
    submission in flight: the lowest rank runs first (the scheduler ranks the
    likely longest gradings first), then the earliest submitted.

    :meth:`tick` takes a reading of the meter. With at least ``_IDLE_TO_LEND``
    cores idle, every slot in use and a job waiting, one more slot is lent, up
    to ``cap``: some running grading is asleep. Once tasks wait for a core (CPU
    pressure; idleness gone where the kernel does not report pressure), one
    lent slot is taken back: the next job to end is not replaced. No job is
    ever stopped.
    """

    def __init__(self, base: int, cap: int, name: str) -> None:
        self.base = base
        self.cap = max(base, cap)
        self.allowed = base
        self.running = 0
        self._jobs: list[tuple[tuple[Any, ...], int, Callable[[], None], Future[Any]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closing = False
        self._cancelled = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(self.cap)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, rank: tuple[Any, ...], fn: Callable[[], R]) -> Future[R]:
        future: Future[R] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

        with self._cond:
            if self._closing:
                raise RuntimeError("Scheduler used outside its `with` block")
            if self._cancelled:
                future.cancel()
                return future
            heapq.heappush(self._jobs, (rank, next(self._seq), job, future))
            self._cond.notify_all()
        return future

    def _work(self) -> None:
        while True:
            with self._cond:
                while not (self._jobs and self.running < self.allowed):
                    if self._closing and not self._jobs:
                        return
                    self._cond.wait()
                _, _, job, _ = heapq.heappop(self._jobs)
                self.running += 1
            try:
                job()
            finally:
                with self._cond:
                    self.running -= 1
                    self._cond.notify_all()

    def cancel_queued(self) -> None:
        """Cancel every job not started yet, and every job submitted from now on.

        Jobs already running finish; whoever waits on a cancelled job's future
        gets ``CancelledError``. For an interrupted command (Ctrl-C), which
        would otherwise wait for every grading still queued.
        """
        with self._cond:
            self._cancelled = True
            jobs, self._jobs = self._jobs, []
            self._cond.notify_all()
        for _, _, _, future in jobs:
            future.cancel()

    def close(self) -> None:
        """Wait for every submitted job to finish, then end the threads."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def tick(self, load: Load | None) -> int:
        """Apply one reading; returns the change in slots (+1 lent, -1 taken back, 0)."""
        with self._cond:
            if load is None:
                return 0
            busy = load.idle < 0.1 if load.stalled is None else load.stalled >= _STALL_TO_REPAY
            if busy and self.allowed > self.base:
                self.allowed -= 1
                return -1
            if (
                load.idle >= _IDLE_TO_LEND
                and self._jobs
                and self.running >= self.allowed
                and self.allowed < self.cap
            ):
                self.allowed += 1
                self._cond.notify_all()
                return 1
            return 0


class Scheduler:
    """Runs gradings on ``workers`` busy slots (more while cores idle) plus real-time slots.

    ``meter``: returns the load since its last call, or None when it cannot
    tell (then no slot is lent); the default reads the machine's.
    Use as a context manager; leaving it waits for every submitted grading.
    """

    def __init__(
        self,
        workers: int,
        meter: Callable[[], Load | None] | None = None,
    ) -> None:
        self._workers = max(1, workers)
        self._meter = meter if meter is not None else system_meter()
        self._stack = contextlib.ExitStack()
        self.busy: Pool | None = None
        self._waiting: Pool | None = None
        self._lock = threading.Lock()
        self._shared: dict[Hashable, Future[Any]] = {}

    def __enter__(self) -> Scheduler:
        stop = threading.Event()
        # Registered before the pools, so it stops after them: a grading
        # still queued while they drain can be lent a slot.
        self._stack.callback(stop.set)
        cap = 2 * self._workers if self._meter is not None else self._workers
        self.busy = Pool(self._workers, cap, "grade-busy")
        self._stack.callback(self.busy.close)
        realtime = _REALTIME_PER_CORE * self._workers
        self._waiting = Pool(realtime, realtime, "grade-realtime")
        self._stack.callback(self._waiting.close)
        if self._meter is not None:
            threading.Thread(
                target=self._lend,
                args=(self.busy, self._meter, stop),
                name="grade-meter",
                daemon=True,
            ).start()
        return self

    @staticmethod
    def _lend(pool: Pool, meter: Callable[[], Load | None], stop: threading.Event) -> None:
        while not stop.wait(_TICK_S):
            pool.tick(meter())

    def __exit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if et is not None:
            self.cancel_queued()
        self._stack.close()

    def cancel_queued(self) -> None:
        """Cancel every grading not started yet (see :meth:`Pool.cancel_queued`)."""
        for pool in (self.busy, self._waiting):
            if pool is not None:
                pool.cancel_queued()

    def submit(self, exercise: Exercise, fn: Callable[[], R], *, group: int = 0) -> Future[R]:
        """Queue ``fn`` (one grading of ``exercise``, of submission ``group``) on its pool."""
        if self.busy is None or self._waiting is None:
            raise RuntimeError("Scheduler used outside its `with` block")
        pool = self._waiting if waits_on_real_time(exercise) else self.busy
        return pool.submit(_rank(exercise, group), fn)

    def run_all(
        self,
        items: list[tuple[Exercise, Callable[[], R]]],
        keys: Sequence[Hashable | None] | None = None,
        *,
        group: int = 0,
    ) -> list[R]:
        """Run every grading, the likely longest first; results in ``items`` order.

        ``keys``: one per item, or None. An item whose key was seen before (in
        this call or an earlier one, from any thread) is not run: it gets the
        first one's result, so equal keys must mean equal verdicts. A None key
        is always run. ``group``: the submission's place in a batch (see
        :func:`_rank`).
        """
        order = sorted(range(len(items)), key=lambda i: _rank(items[i][0]))
        futures: dict[int, Future[R]] = {}
        for i in order:
            key = keys[i] if keys is not None else None
            if key is None:
                futures[i] = self.submit(*items[i], group=group)
                continue
            with self._lock:
                shared = self._shared.get(key)
                if shared is None:
                    shared = self._shared[key] = self.submit(*items[i], group=group)
            futures[i] = shared
        return [futures[i].result() for i in range(len(items))]
