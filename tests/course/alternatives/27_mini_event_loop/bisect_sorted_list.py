"""Alternative for exercise 27: sleepers in a list kept sorted with bisect.insort.

The list holds ``(when, seq, task)``; ``insort`` keeps it ordered (a memmove,
fast even for 20,000 entries) and the earliest sleeper is always at index 0.
Each task carries a small "resume with" record instead of the loop keeping
one, and a cancelled sleeper is removed from the list right away instead of
being left as a stale entry.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MiniCancelled(BaseException):
    pass


class Sleep:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __await__(self) -> Generator[Any, None, None]:
        yield ("sleep", self.seconds)


class MiniTask(Generic[T]):
    def __init__(self, loop: MiniLoop, coro: Coroutine[Any, Any, T], name: str) -> None:
        self.name = name
        self.loop = loop
        self.coro = coro
        self.finished = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters: list[MiniTask[Any]] = []
        self.resume: tuple[str, Any] = ("send", None)
        self.parked: Any = None  # the sleep entry or the task awaited

    def done(self) -> bool:
        return self.finished

    def result(self) -> T:
        if not self.finished:
            raise RuntimeError("result() of a task that is not done")
        if self.error is not None:
            raise self.error
        value: T = self.value
        return value

    def cancel(self) -> bool:
        if self.finished:
            return False
        self.loop.interrupt(self, ("throw", MiniCancelled()))
        return True

    def __await__(self) -> Generator[Any, None, T]:
        if not self.finished:
            yield ("join", self)
        return self.result()


class MiniLoop:
    def __init__(self) -> None:
        self.now = 0.0
        self.ready: deque[MiniTask[Any]] = deque()
        self.timeline: list[tuple[float, int, MiniTask[Any]]] = []
        self.counter = itertools.count()
        self.alive: set[MiniTask[Any]] = set()
        self.running: MiniTask[Any] | None = None
        self.busy = False
        self.pending_cancel: set[MiniTask[Any]] = set()

    def time(self) -> float:
        return self.now

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> MiniTask[T]:
        task: MiniTask[T] = MiniTask(
            self, coro, name if name is not None else f"task{len(self.alive)}"
        )
        self.alive.add(task)
        self.ready.append(task)
        return task

    def interrupt(self, task: MiniTask[Any], resume: tuple[str, Any]) -> None:
        if task is self.running:
            self.pending_cancel.add(task)
            return
        parked = task.parked
        task.parked = None
        if isinstance(parked, tuple):  # a sleep entry: take it out of the timeline
            i = bisect.bisect_left(self.timeline, parked)
            if i < len(self.timeline) and self.timeline[i] is parked:
                del self.timeline[i]
        elif isinstance(parked, MiniTask):
            parked.waiters.remove(task)
        elif task in self.ready:  # ready already: just change how it resumes
            task.resume = resume
            return
        task.resume = resume
        self.ready.append(task)

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        if self.busy:
            raise RuntimeError("this MiniLoop is already running")
        self.busy = True
        try:
            top = self.spawn(main, name="main")
            try:
                self.until(lambda: top.finished)
            finally:
                while self.alive:
                    left = list(self.alive)
                    for task in left:
                        task.cancel()
                    self.until(lambda left=left: all(t.finished for t in left))
            return top.result()
        finally:
            self.busy = False

    def until(self, stop: Any) -> None:
        while not stop():
            if not self.ready:
                if not self.timeline:
                    raise RuntimeError("deadlock: every task waits and none can wake up")
                self.now = self.timeline[0][0]
                cut = bisect.bisect_right(self.timeline, (self.now, float("inf")))
                due, self.timeline[:cut] = self.timeline[:cut], []
                for entry in due:
                    entry[2].parked = None
                    self.ready.append(entry[2])
                continue
            self.step(self.ready.popleft())

    def step(self, task: MiniTask[Any]) -> None:
        how, arg = task.resume
        task.resume = ("send", None)
        self.running = task
        try:
            request = task.coro.throw(arg) if how == "throw" else task.coro.send(arg)
        except StopIteration as stop:
            self.settle(task, stop.value, None)
            return
        except (Exception, MiniCancelled) as exc:
            self.settle(task, None, exc)
            return
        finally:
            self.running = None
        if task in self.pending_cancel:
            self.pending_cancel.discard(task)
            task.resume = ("throw", MiniCancelled())
            self.ready.append(task)
            return
        kind = request[0] if isinstance(request, tuple) and len(request) == 2 else None
        if kind == "sleep" and request[1] > 0:
            entry = (self.now + request[1], next(self.counter), task)
            task.parked = entry
            bisect.insort(self.timeline, entry)
        elif kind == "sleep":
            self.ready.append(task)
        elif kind == "join" and isinstance(request[1], MiniTask):
            other = request[1]
            if other.finished:
                self.ready.append(task)
            else:
                task.parked = other
                other.waiters.append(task)
        else:
            task.resume = ("throw", TypeError(f"cannot await {request!r} in a MiniLoop"))
            self.ready.append(task)

    def settle(self, task: MiniTask[Any], value: Any, error: BaseException | None) -> None:
        task.finished, task.value, task.error = True, value, error
        self.alive.discard(task)
        for waiter in task.waiters:
            waiter.parked = None
            self.ready.append(waiter)
        task.waiters = []
