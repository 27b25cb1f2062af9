"""Where each grading runs when a command grades many: two thread pools.

An exercise on the virtual clock keeps a core busy for the whole of its
grading, so those share ``workers`` slots (default: one per core). An exercise
on the real clock (``clock = "realtime"`` in its exercise.toml: threads,
processes, sockets) spends most of its grading asleep, waiting for real time to
pass, so those get slots of their own and start first: the longest gradings no
longer sit at the end of the queue, and the cores stay busy while they wait.
Their checks carry real-time windows wide enough for a loaded machine (the
stress session proves the verdicts do not move under a competing load).

Each grading is still one fresh child process; this module only decides when
the parent starts it, and, for ``grade batch``, whether: gradings given the same
key (an exercise and the sha256 of the file) within one scheduler's life share
one run, as an untouched stub or a copied file is graded once per class.
Plain ``concurrent.futures`` is enough here: the gradings are independent, and
results are gathered in the caller's order.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from ._catalog import Exercise

__all__ = ["Scheduler", "waits_on_real_time"]

R = TypeVar("R")


def waits_on_real_time(exercise: Exercise) -> bool:
    """Whether a grading of ``exercise`` mostly sleeps on the real clock."""
    return exercise.clock == "realtime"


def _expected_length(exercise: Exercise) -> tuple[int, float, int]:
    """Sort key, longest expected grading first (the classic longest-job-first rule).

    No grading has been timed yet when a command starts, so the exercise's own
    description stands in: real-clock exercises, then those with some real-clock
    checks (``mixed``, ``own``), then the rest; within each, the larger wall
    limit and then the later exercise first.
    """
    rank = {"realtime": 0, "mixed": 1, "own": 1}.get(exercise.clock, 2)
    return rank, -exercise.wall_limit, -exercise.number


# Real-clock slots per busy slot. Such a grading mostly sleeps (its checks wait
# on real time, in two children), so twice as many as there are cores keep the
# cores busy without starving them; their checks' real-time windows are sized
# for a saturated machine, which the stress session's load rounds prove.
_REALTIME_PER_CORE = 2


class Scheduler:
    """Runs gradings on ``workers`` busy slots plus ``2 * workers`` slots for real-time ones.

    Use as a context manager; leaving it waits for every submitted grading.
    """

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._stack = contextlib.ExitStack()
        self._busy: ThreadPoolExecutor | None = None
        self._waiting: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._shared: dict[Hashable, Future[Any]] = {}

    def __enter__(self) -> Scheduler:
        self._busy = self._stack.enter_context(
            ThreadPoolExecutor(self._workers, thread_name_prefix="grade-busy")
        )
        self._waiting = self._stack.enter_context(
            ThreadPoolExecutor(
                _REALTIME_PER_CORE * self._workers, thread_name_prefix="grade-realtime"
            )
        )
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def submit(self, exercise: Exercise, fn: Callable[[], R]) -> Future[R]:
        """Start ``fn`` (one grading of ``exercise``) on the pool that suits it."""
        pool = self._waiting if waits_on_real_time(exercise) else self._busy
        if pool is None:
            raise RuntimeError("Scheduler used outside its `with` block")
        return pool.submit(fn)

    def run_all(
        self,
        items: list[tuple[Exercise, Callable[[], R]]],
        keys: Sequence[Hashable | None] | None = None,
    ) -> list[R]:
        """Run every grading, the likely longest first; results in ``items`` order.

        ``keys``: one per item, or None. An item whose key was seen before (in
        this call or an earlier one, from any thread) is not run: it gets the
        first one's result, so equal keys must mean equal verdicts. A None key
        is always run.
        """
        order = sorted(range(len(items)), key=lambda i: _expected_length(items[i][0]))
        futures: dict[int, Future[R]] = {}
        for i in order:
            key = keys[i] if keys is not None else None
            if key is None:
                futures[i] = self.submit(*items[i])
                continue
            with self._lock:
                shared = self._shared.get(key)
                if shared is None:
                    shared = self._shared[key] = self.submit(*items[i])
            futures[i] = shared
        return [futures[i].result() for i in range(len(items))]
