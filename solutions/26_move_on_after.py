"""Reference solution for exercise 26: a trio-style cancel scope on ``call_later`` plus ``uncancel``."""

from __future__ import annotations

import asyncio
from types import TracebackType


class move_on_after:
    """Cancel the block after ``delay`` seconds and carry on after it (see the stub)."""

    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self.deadline: float | None = None
        self.cancelled_caught = False
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.Handle | None = None
        self._fired = False
        self._level = 0  # the task's cancelling() when the block was entered

    async def __aenter__(self) -> move_on_after:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("move_on_after must be used inside a task")
        self._task = task
        # Cancels already requested (say, we are the cleanup of a cancelled task)
        # are not ours: remember the level, so that only our own is absorbed.
        self._level = task.cancelling()
        self._arm(self._delay)
        return self

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        e: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # Whatever happens, no timer of ours may fire after the block.
        self._disarm()
        if not self._fired:
            return None
        # Our cancel was requested: take it back, whether or not it was delivered.
        assert self._task is not None
        remaining = self._task.uncancel()
        if et is not None and issubclass(et, asyncio.CancelledError) and remaining <= self._level:
            # Nobody else asked for a cancel meanwhile: this CancelledError is ours.
            self.cancelled_caught = True
            return True
        # An external or outer cancel (even one at the same instant) wins: let it go.
        return None

    def reschedule(self, delay: float | None) -> None:
        """Move the deadline to ``delay`` seconds from now (``None``: no deadline)."""
        if self._task is None:
            self._delay = delay  # not entered yet: takes effect on entry
            return
        if self._fired:
            raise RuntimeError("the scope's deadline has already passed")
        self._disarm()
        self._arm(delay)

    # -- the timer -----------------------------------------------------------------
    def _arm(self, delay: float | None) -> None:
        if delay is None:
            self.deadline = None
            return
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + delay
        if delay <= 0:
            # Already due: act at the very next loop step, as asyncio.timeout does,
            # so even `await asyncio.sleep(0)` in the block is interrupted.
            self._handle = loop.call_soon(self._fire)
        else:
            self._handle = loop.call_at(self.deadline, self._fire)

    def _disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._fired = True
        assert self._task is not None
        self._task.cancel()
