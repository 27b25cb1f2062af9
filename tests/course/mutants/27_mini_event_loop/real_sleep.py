"""Mutant: time.sleep until the next wake-up (real waiting) instead of jumping the clock.

Targets: test_no_real_waiting
"""

from __future__ import annotations

import heapq
import time as _time
import itertools
from collections import deque
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_PENDING, _FINISHED, _FAILED, _CANCELLED = "pending", "finished", "failed", "cancelled"


class MiniCancelled(BaseException):
    """Thrown into a task by ``MiniTask.cancel()``; a BaseException, like CancelledError."""


class Sleep:
    """``await Sleep(d)`` suspends the current task for ``d`` seconds of loop time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __await__(self) -> Generator[Any, None, None]:
        # The loop receives this object from coro.send() and parks the task.
        yield self

    def __repr__(self) -> str:
        return f"Sleep({self.seconds!r})"


class MiniTask(Generic[T]):
    """A coroutine the loop drives, with its outcome once it is done."""

    def __init__(self, loop: MiniLoop, coro: Coroutine[Any, Any, T], name: str) -> None:
        self.name = name
        self._loop = loop
        self._coro = coro
        self._state = _PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._waiters: list[MiniTask[Any]] = []
        # What to resume the coroutine with at its next step.
        self._send: Any = None
        self._throw: BaseException | None = None
        self._cancel_requested = False
        # Why it is suspended: a sleep's seq, or the task it awaits.
        self._sleep_seq: int | None = None
        self._awaiting: MiniTask[Any] | None = None
        self._scheduled = False

    def done(self) -> bool:
        return self._state != _PENDING

    def result(self) -> T:
        if self._state == _PENDING:
            raise RuntimeError(f"task {self.name!r} is not done yet")
        if self._exception is not None:
            raise self._exception
        result: T = self._result
        return result

    def cancel(self) -> bool:
        if self.done():
            return False
        self._cancel_requested = True
        self._loop._wake_for_cancel(self)
        return True

    def __await__(self) -> Generator[Any, None, T]:
        if not self.done():
            # The loop sees a MiniTask and resumes us once it is done.
            yield self
        return self.result()

    def __repr__(self) -> str:
        return f"<MiniTask {self.name!r} {self._state}>"


class MiniLoop:
    """A single-threaded event loop on a simulated clock."""

    def __init__(self) -> None:
        self._now = 0.0
        self._ready: deque[MiniTask[Any]] = deque()
        self._sleepers: list[tuple[float, int, MiniTask[Any]]] = []
        self._seq = itertools.count()
        self._tasks: list[MiniTask[Any]] = []
        self._names = itertools.count(1)
        self._running = False
        self._current: MiniTask[Any] | None = None

    def time(self) -> float:
        return self._now

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> MiniTask[T]:
        task: MiniTask[T] = MiniTask(self, coro, name or f"MiniTask-{next(self._names)}")
        self._tasks.append(task)
        self._schedule(task)
        return task

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        if self._running:
            main.close()  # never started: close it so Python does not warn it was never awaited
            raise RuntimeError("MiniLoop.run() cannot be called while the loop is running")
        self._running = True
        try:
            main_task = self.spawn(main, name="main")
            try:
                self._run_until(main_task.done)
            finally:
                # Whatever happened (a result, an error, a deadlock), leave no task behind.
                self._cancel_pending()
            return main_task.result()
        finally:
            self._tasks = [t for t in self._tasks if not t.done()]
            self._running = False

    # -- the scheduler ---------------------------------------------------------

    def _schedule(self, task: MiniTask[Any]) -> None:
        if not task._scheduled:
            task._scheduled = True
            self._ready.append(task)

    def _run_until(self, finished: Any) -> None:
        while not finished():
            if self._ready:
                task = self._ready.popleft()
                task._scheduled = False
                if not task.done():
                    self._step(task)
                continue
            # Nothing ready: drop cancelled sleeps, then jump to the earliest wake-up.
            while self._sleepers and self._sleepers[0][2]._sleep_seq != self._sleepers[0][1]:
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                stuck = [t.name for t in self._tasks if not t.done()]
                raise RuntimeError(
                    f"deadlock: no task is ready or sleeping, but {stuck} can never finish"
                )
            when = self._sleepers[0][0]
            if when > self._now:
                _time.sleep(when - self._now)  # MUTANT: really waits until the wake-up
            self._now = max(self._now, when)
            # Every sleeper due now becomes ready, in the order they went to sleep.
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, seq, task = heapq.heappop(self._sleepers)
                if task._sleep_seq == seq:
                    task._sleep_seq = None
                    self._schedule(task)

    def _step(self, task: MiniTask[Any]) -> None:
        coro = task._coro
        self._current = task
        try:
            if task._cancel_requested:
                task._cancel_requested = False
                task._throw = None
                yielded = coro.throw(MiniCancelled())
            elif task._throw is not None:
                exc, task._throw = task._throw, None
                yielded = coro.throw(exc)
            else:
                value, task._send = task._send, None
                yielded = coro.send(value)
        except StopIteration as stop:
            self._finish(task, _FINISHED, result=stop.value)
            return
        except MiniCancelled as exc:
            self._finish(task, _CANCELLED, exc=exc)
            return
        except Exception as exc:  # kept on the task; the loop goes on
            self._finish(task, _FAILED, exc=exc)
            return
        finally:
            self._current = None
        # BaseExceptions other than MiniCancelled (KeyboardInterrupt, SystemExit) propagate.
        self._park(task, yielded)

    def _park(self, task: MiniTask[Any], yielded: Any) -> None:
        """Put a task that just yielded ``yielded`` where it belongs."""
        if task._cancel_requested:
            # It cancelled itself while running: deliver at this suspension.
            self._schedule(task)
        elif isinstance(yielded, Sleep):
            if yielded.seconds <= 0:
                self._schedule(task)  # Sleep(0): to the back of the ready queue
            else:
                seq = next(self._seq)
                task._sleep_seq = seq
                heapq.heappush(self._sleepers, (self._now + yielded.seconds, seq, task))
        elif isinstance(yielded, MiniTask):
            if yielded.done():
                self._schedule(task)
            else:
                task._awaiting = yielded
                yielded._waiters.append(task)
        else:
            task._throw = TypeError(
                f"MiniLoop cannot await {yielded!r}: only Sleep(...) and MiniTask objects "
                "(asyncio futures need an asyncio loop)"
            )
            self._schedule(task)

    def _finish(
        self, task: MiniTask[Any], state: str, *, result: Any = None, exc: BaseException | None = None
    ) -> None:
        task._state, task._result, task._exception = state, result, exc
        waiters, task._waiters = task._waiters, []
        for waiter in waiters:
            if waiter._awaiting is task:
                waiter._awaiting = None
                self._schedule(waiter)  # its MiniTask.__await__ returns task.result()

    def _wake_for_cancel(self, task: MiniTask[Any]) -> None:
        """A cancelled task runs at once, wherever it is suspended."""
        if task is self._current:
            return  # running now: delivered at its next suspension (see _park)
        task._sleep_seq = None  # its heap entry goes stale
        if task._awaiting is not None:
            task._awaiting._waiters.remove(task)
            task._awaiting = None
        self._schedule(task)

    def _cancel_pending(self) -> None:
        """Cancel every unfinished task and drive them all to completion."""
        while True:
            pending = [t for t in self._tasks if not t.done()]
            if not pending:
                return
            for task in pending:
                task.cancel()
            self._run_until(lambda: all(t.done() for t in pending))
