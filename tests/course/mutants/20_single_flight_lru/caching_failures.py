"""Mutant: caches failures: the outcome of a load, value or exception, is stored, and a later
get re-raises the cached exception instead of loading again.

Targets: test_failure_reaches_every_waiter
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class _Failed:
    def __init__(self, exc):
        self.exc = exc


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
                if isinstance(value, _Failed):
                    raise value.exc
                return value
            del self._entries[key]  # expired: load afresh
        flight = self._flights.get(key)
        if flight is None:
            flight = _Flight()
            flight.task = loop.create_task(self._load(key, flight))
            self._flights[key] = flight
        task = flight.task
        assert task is not None
        flight.waiters += 1
        try:
            # shield: cancelling this waiter must not cancel the load the others share.
            return await asyncio.shield(task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not task.done():
                # We were cancelled, and nobody else wants the value: stop the load,
                # and let our CancelledError out only once its cleanup has run.
                self._forget(key, flight)
                task.cancel()
                await asyncio.wait([task])

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
        except Exception as exc:
            if flight.cacheable:
                self._store(key, _Failed(exc))  # the failure is cached like a value
            raise
        finally:
            self._forget(key, flight)
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
