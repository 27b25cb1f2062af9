"""Exercise 15: introspection and watchdogs.

List the running tasks, guard a block against leaked tasks, and measure how
late the event loop wakes up. Read README.md in this folder for the task, the
rules and examples.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


def describe_tasks() -> list[tuple[str, str]]:
    """Describe every pending task of the running loop except the caller's own.

    Contract:
    - One ``(task name, coroutine __qualname__)`` pair per pending task, from
      ``asyncio.all_tasks()``, ``Task.get_name()`` and ``Task.get_coro()``.
    - The task calling ``describe_tasks`` (``asyncio.current_task()``) is left out.
    - The list is sorted.
    """
    # TODO: implement with all_tasks, current_task and get_coro.
    raise NotImplementedError


class LeakedTasksError(Exception):
    """Tasks started inside a LeakGuard block were still running when it ended.

    ``names`` lists their task names.
    """

    names: list[str]

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"task(s) still running after the block: {', '.join(names)}")
        self.names = names


class LeakGuard:
    """``async with LeakGuard(grace=...):`` fails if the block leaves tasks running.

    Contract:
    - Tasks that exist when the block starts are ignored; every task created
      during the block counts, grandchildren included.
    - When the block ends, tasks still running get up to ``grace`` seconds to
      finish (the guard returns as soon as they all have).
    - Then the stragglers are cancelled *and awaited* (their cleanup has run),
      their names go to ``leaked``, and ``LeakedTasksError(names)`` is raised.
    - An exception from the block takes precedence: it propagates unchanged.
    """

    leaked: list[str]

    def __init__(self, *, grace: float = 0.0) -> None:
        self.grace = grace
        self.leaked = []

    async def __aenter__(self) -> LeakGuard:
        # TODO: remember which tasks exist now.
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # TODO: wait up to grace, then cancel, await and report the stragglers.
        raise NotImplementedError


class LagMonitor:
    """``async with LagMonitor(interval, threshold):`` measures event-loop lag.

    Contract:
    - While the block runs, a sampler task sleeps ``interval`` seconds again and
      again; the lag of one wake-up is how much later than ``interval`` it woke.
    - ``max_lag`` is the largest lag seen (seconds, a float); ``stalls`` counts
      the wake-ups whose lag exceeded ``threshold``.
    - When the block ends, the sampler is stopped: no task is left behind.
    """

    max_lag: float
    stalls: int

    def __init__(self, interval: float, threshold: float) -> None:
        self.interval = interval
        self.threshold = threshold
        self.max_lag = 0.0
        self.stalls = 0

    async def __aenter__(self) -> LagMonitor:
        # TODO: start the sampler task.
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # TODO: stop the sampler task.
        raise NotImplementedError
