"""Mutant: shields the load but never cancels it: when every waiter has left, the load runs on
as an orphan until it completes (its finally at 1.0 instead of 0.5).

Targets: test_cancel_all_waiters_cancels_the_load
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class _Flight(Generic[V]):
    """One load in progress and who is waiting for it."""

    __slots__ = ("cacheable", "task", "waiters")

    def __init__(self) -> None:
        self.task: asyncio.Task[V] | None = None
        self.waiters = 0
        self.cacheable = True  # cleared by invalidate(): serve the waiters, keep nothing


class AsyncLRU(Generic[K, V]):
    """An async cache: single-flight loads, LRU eviction, optional TTL."""

    def __init__(
        self, loader: Callable[[K], Awaitable[V]], *, maxsize: int, ttl: float | None = None
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be positive (or None), not {ttl}")
        self._loader = loader
        self._maxsize = maxsize
        self._ttl = ttl
        # key -> (value, expiry loop time or None); least recently used first.
        self._entries: OrderedDict[K, tuple[V, float | None]] = OrderedDict()
        self._flights: dict[K, _Flight[V]] = {}

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is not None:
            value, expires = entry
            if expires is None or loop.time() < expires:
                self._entries.move_to_end(key)  # now the most recently used
                return value
            del self._entries[key]  # expired: load afresh
        flight = self._flights.get(key)
        if flight is None:
            flight = _Flight()
            flight.task = loop.create_task(self._load(key, flight))
            self._flights[key] = flight
        task = flight.task
        assert task is not None
        # No waiter count: nobody ever cancels the load.
        return await asyncio.shield(task)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        flight = self._flights.pop(key, None)
        if flight is not None:
            # Its value may be stale already: its waiters still get it, the cache does not,
            # and the next get() starts a fresh load.
            flight.cacheable = False

    def __len__(self) -> int:
        return len(self._entries)

    # -- internals -------------------------------------------------------------
    async def _load(self, key: K, flight: _Flight[V]) -> V:
        try:
            value = await self._loader(key)
        finally:
            self._forget(key, flight)  # a failure is never cached: the next get loads again
        if flight.cacheable:
            self._store(key, value)
        return value

    def _forget(self, key: K, flight: _Flight[V]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    def _store(self, key: K, value: V) -> None:
        expires = None if self._ttl is None else asyncio.get_running_loop().time() + self._ttl
        self._entries[key] = (value, expires)  # ttl counts from load completion
        self._entries.move_to_end(key)
        while len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)  # evict the least recently used
