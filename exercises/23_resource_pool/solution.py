"""Exercise 23: a resource pool, as an async context manager.

Lend at most ``max_size`` resources, created lazily and reused; waiters are
served FIFO; broken resources are closed; nothing leaks on cancellation.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

R = TypeVar("R")


class PoolClosed(Exception):
    """Raised by ``Pool.acquire`` once ``aclose()`` has been called."""


class Pool(Generic[R]):
    """A pool of at most ``max_size`` resources made by ``factory``.

    Contract:
    - ``async with pool.acquire() as r:`` lends a resource: an idle one if
      any, else a new one if fewer than ``max_size`` exist (counting those
      being created), else wait, first come first served.
    - A clean exit returns the resource; an exception closes and discards
      it (``await close(r)``, once) and propagates unchanged.
    - A caller cancelled while waiting or during the factory leaks no slot;
      a factory error reaches only its own caller; a hand-off to a waiter
      cancelled at that very instant goes to the next waiter.
    - ``aclose()`` makes later acquires raise PoolClosed, waits for the
      checked-out resources and closes every resource exactly once.
    - ``size`` counts the resources that exist, ``idle`` those in the pool.
    """

    def __init__(
        self,
        factory: Callable[[], Awaitable[R]],
        *,
        max_size: int,
        close: Callable[[R], Awaitable[None]],
    ) -> None:
        self._factory = factory
        self._close = close
        self.max_size = max_size
        self.size = 0
        self.idle = 0
        # TODO: idle resources, waiters, a closed flag

    def acquire(self) -> AbstractAsyncContextManager[R]:
        # TODO: return an async context manager (hint: contextlib.asynccontextmanager)
        raise NotImplementedError

    async def aclose(self) -> None:
        # TODO: refuse new acquires, wait for checked-out resources, close everything once
        raise NotImplementedError
