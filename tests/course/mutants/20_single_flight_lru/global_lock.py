"""Mutant: one Lock around the whole get: single flight for free, but different keys load one
after the other (T=3.0 for 3 keys instead of 1.0).

Targets: test_distinct_keys_load_in_parallel
"""

import asyncio
from collections import OrderedDict


class AsyncLRU:
    def __init__(self, loader, *, maxsize, ttl=None):
        self._loader = loader
        self._maxsize = maxsize
        self._ttl = ttl
        self._entries = OrderedDict()
        self._lock = asyncio.Lock()

    def _hit(self, key):
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        value, expires = entry
        if expires is not None and asyncio.get_running_loop().time() >= expires:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    async def get(self, key):
        async with self._lock:
            hit, value = self._hit(key)
            if hit:
                return value
            value = await self._loader(key)
            now = asyncio.get_running_loop().time()
            self._entries[key] = (value, None if self._ttl is None else now + self._ttl)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)
            return value

    def invalidate(self, key):
        self._entries.pop(key, None)

    def __len__(self):
        return len(self._entries)
