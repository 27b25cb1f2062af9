"""Exercise 26: move_on_after, a trio-style cancel scope built on ``Task.uncancel``.

    async with move_on_after(1.0) as scope:
        await something_slow()
    if scope.cancelled_caught:
        ...  # the block was cut short after 1.0 s; we carry on here

Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class move_on_after:
    """Cancel the block if it still runs ``delay`` seconds after entry, then carry on.

    Contract:
    - ``delay`` seconds after the block is entered, if it is still running, the
      current task is cancelled; the scope absorbs *only that* cancellation, and
      execution continues after the ``async with`` block with
      ``cancelled_caught = True``.
    - Any other cancellation (``task.cancel()`` from outside, an enclosing scope or
      ``asyncio.timeout``) propagates, even one that arrives at the very instant of
      the deadline.
    - ``current_task().cancelling()`` is back where it was on entry when the block
      is left (restore it with ``Task.uncancel()``).
    - ``delay=None``: no deadline. ``delay <= 0``: cancel at the block's first
      suspension, even ``await asyncio.sleep(0)``.
    - ``deadline`` is the loop time (``loop.time()``) at which the scope fires,
      set on entry (``None`` when there is no deadline); ``reschedule(delay)``
      moves it to ``delay`` seconds from now.
    - No timer of the scope may fire after the block was left.
    """

    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self.deadline: float | None = None
        self.cancelled_caught: bool = False

    async def __aenter__(self) -> move_on_after:
        """Enter the block: note the current task and arm the deadline."""
        # TODO: remember asyncio.current_task() and its cancelling(), arm a loop timer.
        raise NotImplementedError

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        e: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Leave the block: disarm the timer; return True only to absorb *our own* cancel."""
        # TODO: cancel the timer handle; if it fired, uncancel() and decide.
        raise NotImplementedError

    def reschedule(self, delay: float | None) -> None:
        """Move the deadline to ``delay`` seconds from now (``None``: no deadline)."""
        # TODO: cancel the old timer and arm a new one.
        raise NotImplementedError
