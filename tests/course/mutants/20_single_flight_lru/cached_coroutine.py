"""Mutant: shares the coroutine object the loader returned instead of a Task; the second
waiter to await it gets RuntimeError ("coroutine is being awaited already").

Targets: test_concurrent_gets_share_one_load, test_ten_concurrent_gets_take_one_second
"""

import asyncio
from collections import OrderedDict


class AsyncLRU:
    def __init__(self, loader, *, maxsize, ttl=None):
        self._loader = loader
        self._maxsize = maxsize
        self._ttl = ttl
        self._entries = OrderedDict()
        self._flights = {}

    async def get(self, key):
        entry = self._entries.get(key)
        now = asyncio.get_running_loop().time()
        if entry is not None and (entry[1] is None or now < entry[1]):
            self._entries.move_to_end(key)
            return entry[0]
        self._entries.pop(key, None)
        coro = self._flights.get(key)
        if coro is None:
            coro = self._flights[key] = self._loader(key)
        try:
            value = await coro
        finally:
            if self._flights.get(key) is coro:
                del self._flights[key]
        now = asyncio.get_running_loop().time()
        self._entries[key] = (value, None if self._ttl is None else now + self._ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)
        return value

    def invalidate(self, key):
        self._entries.pop(key, None)
        self._flights.pop(key, None)

    def __len__(self):
        return len(self._entries)
