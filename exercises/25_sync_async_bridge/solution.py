"""Exercise 25: the sync/async bridge.

``LoopThread`` runs an event loop in a daemon thread that any thread can hand
coroutines to; ``make_sync`` builds an "async core, sync shell" facade on top.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread, fed from any thread.

    Contract:
    - ``start()`` starts the daemon thread and returns once its loop runs.
    - ``submit(coro)`` works from any thread: it schedules ``coro`` on the loop
      and returns a ``concurrent.futures.Future``; cancelling that Future cancels
      the coroutine.
    - ``call(coro, timeout=None)`` blocks for the result (or re-raises the
      coroutine's exception). On timeout it cancels the remote coroutine, then
      raises ``TimeoutError``. Called from the loop's own thread it raises
      ``RuntimeError`` instead of deadlocking.
    - ``stop(timeout=5.0)`` cancels the pending work, lets it clean up (its
      ``finally`` blocks may still await), closes the loop and joins the thread.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop's daemon thread; return once the loop is running."""
        # TODO: asyncio.new_event_loop(), a daemon thread running loop.run_forever().
        raise NotImplementedError

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop (from any thread); return its Future."""
        raise NotImplementedError

    def call(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and block for its result."""
        raise NotImplementedError

    def stop(self, *, timeout: float = 5.0) -> None:
        """Cancel pending work, let it clean up, close the loop, join the thread."""
        raise NotImplementedError


def make_sync(async_cls: type) -> type:
    """Build the blocking facade of ``async_cls`` ("async core, sync shell").

    Contract:
    - ``SyncX = make_sync(AsyncX)``; ``SyncX(*args, **kwargs)`` makes one core
      ``AsyncX(*args, **kwargs)`` served by a private ``LoopThread``.
    - Each public async method of the core is mirrored on the *class* as a
      blocking method of the same name, signature and docstring
      (``inspect.signature(SyncX.get)`` works without an instance).
    - A facade method called inside a running event loop raises ``RuntimeError``.
    - The facade has ``close()`` and works with ``with``.
    """
    # TODO: type(name, (), namespace) with one functools.wraps wrapper per async method.
    raise NotImplementedError
