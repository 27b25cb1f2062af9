"""Mutant: creates a new resource for every acquire (and closes it on release), within max_size.

Targets: test_lazy_creation_and_reuse, test_six_users_take_3_1
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

R = TypeVar("R")

_SLOT: Any = object()  # a waiter's grant: create a resource in the slot you now own


class PoolClosed(Exception):
    """Raised by ``Pool.acquire`` once ``aclose()`` has been called."""


class Pool(Generic[R]):
    """A pool of at most ``max_size`` resources made by ``factory`` (see the stub)."""

    def __init__(
        self,
        factory: Callable[[], Awaitable[R]],
        *,
        max_size: int,
        close: Callable[[R], Awaitable[None]],
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, not {max_size}")
        self._factory = factory
        self._close = close
        self.max_size = max_size
        self._idle: deque[R] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._slots = 0  # resources that exist or are being created
        self._closed = False
        self._drained = asyncio.Event()  # set once closed and every slot is gone

    @property
    def size(self) -> int:
        return self._slots

    @property
    def idle(self) -> int:
        return len(self._idle)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[R]:
        resource = await self._checkout()
        try:
            yield resource
        except BaseException:
            # The block failed (or was cancelled): the resource may be broken.
            await self._discard(resource)
            raise
        await self._discard(resource)

    async def aclose(self) -> None:
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the pool was closed while you waited"))
        while self._idle:
            await self._discard(self._idle.popleft())
        if self._slots:
            await self._drained.wait()  # the checked-out resources come back and are closed

    # -- internals ---------------------------------------------------------------
    async def _checkout(self) -> R:
        if self._closed:
            raise PoolClosed("the pool is closed")
        if self._idle:
            return self._idle.popleft()
        if self._slots < self.max_size:
            self._slots += 1  # counted before the first await
            return await self._create()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            grant = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed a resource (or a slot) at the very instant we were cancelled:
                # pass it on, or it would be lost.
                grant = waiter.result()
                if grant is _SLOT:
                    self._release_slot()
                elif self._closed:
                    await self._discard(grant)
                else:
                    self._checkin(grant)
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        if grant is _SLOT:
            return await self._create()
        return grant  # type: ignore[no-any-return]

    async def _create(self) -> R:
        """Run the factory in a slot already counted; give the slot up if it fails."""
        try:
            return await self._factory()
        except BaseException:
            self._release_slot()
            raise

    def _next_waiter(self) -> asyncio.Future[Any] | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter's future is done: skip it
                return waiter
        return None

    def _checkin(self, resource: R) -> None:
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(resource)
        else:
            self._idle.append(resource)

    def _release_slot(self) -> None:
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(_SLOT)  # the slot changes hands: the count stays
            return
        self._slots -= 1
        if self._closed and self._slots == 0:
            self._drained.set()

    async def _discard(self, resource: R) -> None:
        try:
            await self._close(resource)
        finally:
            self._release_slot()
