"""Exercise 20: a single-flight LRU cache.

An async cache in front of a slow loader: concurrent gets of one key share one
load, entries expire and get evicted, and cancellation never hurts the others.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class AsyncLRU(Generic[K, V]):
    """Caches ``await loader(key)`` for each key.

    Contract:
    - Concurrent ``get``s of one key share one in-flight load (the loader is
      called once); different keys load in parallel.
    - At most ``maxsize`` completed entries are kept; when there are more, the
      least recently *used* one (read by a hit, or just loaded) is evicted.
    - With ``ttl``, an entry expires ``ttl`` loop-seconds after its load
      *completed* (hits don't extend it); the next get loads it again.
    - A failed load is not cached: every waiter of that load gets the very
      same exception object, and the next get loads again.
    - Cancelling one waiter affects only that waiter. When every waiter of a
      load has left, the load itself is cancelled (and nothing is cached).
    - ``invalidate(key)`` drops the cached entry; a load in flight still
      serves its waiters, but its value is not cached.
    - ``len(cache)`` counts completed entries only (not loads in flight).
    """

    def __init__(
        self, loader: Callable[[K], Awaitable[V]], *, maxsize: int, ttl: float | None = None
    ) -> None:
        self.loader = loader
        self.maxsize = maxsize
        self.ttl = ttl
        # TODO: the completed entries (in LRU order) and the loads in flight.

    async def get(self, key: K) -> V:
        """The value for ``key``: cached, joined from a load in flight, or loaded now."""
        # TODO
        raise NotImplementedError

    def invalidate(self, key: K) -> None:
        """Forget ``key``: drop its entry, and don't cache a load of it now in flight."""
        # TODO
        raise NotImplementedError

    def __len__(self) -> int:
        """How many completed entries the cache holds."""
        # TODO
        raise NotImplementedError
