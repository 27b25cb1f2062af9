"""Mutant: cancels the stragglers but does not await them: their finally has not run
when LeakedTasksError reaches the caller.

Targets: test_straggler_cancelled_and_awaited
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any


def describe_tasks() -> list[tuple[str, str]]:
    """(name, coroutine __qualname__) of every pending task but the caller's, sorted."""
    me = asyncio.current_task()
    return sorted(
        (task.get_name(), getattr(task.get_coro(), "__qualname__", repr(task.get_coro())))
        for task in asyncio.all_tasks()
        if task is not me
    )


class LeakedTasksError(Exception):
    """Tasks started inside a LeakGuard block were still running when it ended."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"task(s) still running after the block: {', '.join(names)}")
        self.names = names


class LeakGuard:
    """An async context manager that fails when its block leaves tasks running."""

    def __init__(self, *, grace: float = 0.0) -> None:
        self.grace = grace
        self.leaked: list[str] = []
        self._before: set[asyncio.Task[Any]] = set()

    def _new_tasks(self) -> set[asyncio.Task[Any]]:
        # all_tasks() holds only pending tasks. Diffing against the snapshot
        # catches every task born during the block, grandchildren included;
        # the task running the block existed before it, so it never shows up.
        return asyncio.all_tasks() - self._before

    async def __aenter__(self) -> LeakGuard:
        self._before = asyncio.all_tasks()
        self.leaked = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            if exc_type is None:
                # Give the stragglers up to `grace` seconds to finish; the set is
                # rescanned because a straggler may start more tasks meanwhile.
                deadline = loop.time() + self.grace
                while (pending := self._new_tasks()) and (left := deadline - loop.time()) > 0:
                    await asyncio.wait(pending, timeout=left)
        finally:
            # Also on a body error (or a cancel during the grace wait): cancel
            # what is left, and *await* it, so every finally has run before we
            # report. Cancelling one task may start another: loop until none.
            pending = self._new_tasks()
            for task in pending:
                task.cancel()
            self.leaked = sorted(task.get_name() for task in pending)
        # An error from the body wins: returning None lets it propagate unchanged.
        if exc_type is None and self.leaked:
            raise LeakedTasksError(self.leaked)


class LagMonitor:
    """An async context manager that measures how late a periodic sleep wakes up."""

    def __init__(self, interval: float, threshold: float) -> None:
        self.interval = interval
        self.threshold = threshold
        self.max_lag = 0.0
        self.stalls = 0
        self._sampler: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            # How late this wake-up is: anything past `interval` is time the
            # loop spent unable to run us (a blocking call, a long callback).
            lag = max(0.0, loop.time() - started - self.interval)
            self.max_lag = max(self.max_lag, lag)
            if lag > self.threshold:
                self.stalls += 1

    async def __aenter__(self) -> LagMonitor:
        self._sampler = asyncio.create_task(self._sample(), name="lag-monitor")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.cancel()
            # wait() never raises the sampler's CancelledError, so a cancel of
            # *our* task is not mistaken for it (and still propagates).
            await asyncio.wait([sampler])
