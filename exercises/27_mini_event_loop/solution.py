"""Exercise 27: an event loop from scratch.

Drive coroutines yourself with ``send()`` and ``throw()``, on a simulated
clock. Do not use asyncio's loop. Read README.md in this folder for the task,
the rules and examples.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MiniCancelled(BaseException):
    """Thrown into a task by ``MiniTask.cancel()``.

    A BaseException, like ``asyncio.CancelledError``, so that ``except Exception:``
    in a task does not swallow a cancellation. (Nothing to implement here.)
    """


class Sleep:
    """``await Sleep(seconds)`` suspends the current task for ``seconds`` of loop time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __await__(self) -> Generator[Any, None, None]:
        """Suspend the awaiting coroutine until the loop resumes it.

        Contract:
        - Whatever this generator yields is what the loop's ``coro.send()``
          returns: yield something your MiniLoop recognises as "sleep".
        - ``await Sleep(0)`` lets every other ready task run once.
        """
        # TODO: yield something the loop understands.
        raise NotImplementedError


class MiniTask(Generic[T]):
    """A coroutine driven by a MiniLoop; made by ``MiniLoop.spawn`` (add any __init__ you need)."""

    name: str

    def done(self) -> bool:
        """True once the coroutine has returned, raised or been cancelled."""
        # TODO
        raise NotImplementedError

    def result(self) -> T:
        """The coroutine's return value, or raise its exception (the very same object).

        Raises RuntimeError if the task is not done yet, and MiniCancelled if it
        was cancelled.
        """
        # TODO
        raise NotImplementedError

    def cancel(self) -> bool:
        """Request cancellation; False if the task is already done, True otherwise.

        Contract:
        - The loop throws MiniCancelled into the coroutine at its current
          suspension point; a sleeping task is woken at once for that (it does
          not wait for its wake-up time). Its ``except``/``finally`` blocks run.
        - Awaiting a cancelled task raises MiniCancelled.
        """
        # TODO
        raise NotImplementedError

    def __await__(self) -> Generator[Any, None, T]:
        """``await task``: suspend until the task is done, then return its result
        or raise its exception (the identical object)."""
        # TODO
        raise NotImplementedError


class MiniLoop:
    """A single-threaded event loop on a simulated clock."""

    def __init__(self) -> None:
        # TODO: a FIFO of ready tasks, a heap of sleepers, the clock, ...
        pass

    def time(self) -> float:
        """The simulated clock: starts at 0.0 and only moves when every task waits."""
        # TODO
        raise NotImplementedError

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> MiniTask[T]:
        """Wrap ``coro`` in a MiniTask and make it ready (it runs once the loop gets to it).

        ``name`` becomes ``task.name``; without one, make a name up.
        """
        # TODO
        raise NotImplementedError

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` (and every task) until ``main`` finishes.

        Contract:
        - Ready tasks run in FIFO order of becoming ready; tasks waking at the
          same instant run in the order they went to sleep.
        - When no task is ready, the clock jumps to the earliest wake-up:
          nothing ever waits in real time.
        - Returns main's result or raises main's exception. Tasks still
          pending then are cancelled and driven to completion first.
        - An exception in a task nobody awaits stays on that task.
        - RuntimeError if called while the loop runs, and RuntimeError
          (deadlock) if main is not done but no task is ready or sleeping.
        - A task that awaits something else than a Sleep or a MiniTask fails
          with a TypeError naming that object.
        """
        # TODO
        raise NotImplementedError
