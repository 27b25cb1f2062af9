"""Mutant: join waits for the first round of tasks with asyncio.wait, but for tasks
spawned while it waited with a bare gather(..., return_exceptions=True): cancelling
join's caller during that second round cancels those tasks.

A cancel during the first round (the fixed check, at 0.5 s) is handled; only the
cancellation sweep cancels join while it waits for a late spawn. Every other check
passes.

Targets: test_cancellation_sweep
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Supervisor:
    """Starts named background tasks and tracks them by name."""

    def __init__(self) -> None:
        # Strong references: the loop itself only keeps weak references to tasks.
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        # Outcomes keyed by the Task itself, so a rename cannot misfile them.
        self._outcomes: dict[asyncio.Task[Any], str] = {}

    def spawn(self, fn: Callable[[], Coroutine[Any, Any, T]], *, name: str) -> asyncio.Task[T]:
        """Start ``fn()`` as a task named ``name`` (see the stub for the contract)."""
        if name in self._tasks:
            # Check before calling fn: a coroutine made and dropped would warn.
            raise ValueError(f"a task named {name!r} already exists")
        # The name is set before the task first runs, so its first line sees it.
        task = asyncio.create_task(fn(), name=name)
        self._tasks[name] = task
        task.add_done_callback(self._record)
        return task

    def _record(self, task: asyncio.Task[Any]) -> None:
        # Order matters: exception() raises CancelledError on a cancelled task.
        if task.cancelled():
            outcome = "cancelled"
        else:
            exc = task.exception()  # retrieving it marks it as handled
            outcome = "ok" if exc is None else f"error:{type(exc).__name__}"
        self._outcomes[task] = outcome

    def status(self) -> dict[str, str]:
        """A snapshot: name -> "running" | "ok" | "cancelled" | "error:<ExcType>"."""
        return {name: self._outcomes.get(task, "running") for name, task in self._tasks.items()}

    def cancel(self, name: str) -> bool:
        """Request cancellation; False for an unknown name or a finished task."""
        task = self._tasks.get(name)
        if task is None:
            return False
        return task.cancel()

    def rename(self, old: str, new: str) -> None:
        """Give the task ``old`` the name ``new`` (its Task name and its status key)."""
        if old not in self._tasks:
            raise KeyError(old)
        if new in self._tasks:
            raise ValueError(f"a task named {new!r} already exists")
        task = self._tasks.pop(old)
        task.set_name(new)
        self._tasks[new] = task

    async def join(self) -> None:
        pending = [t for t in self._tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending)  # cancel-safe: the tasks keep running
        while late := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*late, return_exceptions=True)  # not cancel-safe
