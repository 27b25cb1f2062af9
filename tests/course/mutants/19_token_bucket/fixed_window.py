"""Mutant: a fixed-window counter: up to `capacity` tokens per 1-second window, reset at each
whole second (5 at 0, the next 5 at 1.0, ... instead of one every 0.2 s).

Targets: test_twenty_concurrent_acquires, test_big_request_then_small_ones
"""

import asyncio
import math


class TokenBucket:
    def __init__(self, rate, capacity):
        self._rate = rate
        self._capacity = capacity
        self._window = None
        self._used = 0
        self._lock = asyncio.Lock()
        self._waiting = 0

    def _check(self, n):
        if not 1 <= n <= self._capacity:
            raise ValueError(n)

    def _take(self, n):
        now = asyncio.get_running_loop().time()
        window = math.floor(now)
        if window != self._window:
            self._window, self._used = window, 0
        if self._used + n <= self._capacity:
            self._used += n
            return None
        return window + 1 - now  # wait for the next window

    async def acquire(self, n=1):
        self._check(n)
        self._waiting += 1
        try:
            async with self._lock:
                while (wait := self._take(n)) is not None:
                    await asyncio.sleep(wait)
        finally:
            self._waiting -= 1

    def try_acquire(self, n=1):
        self._check(n)
        if self._waiting:
            return False
        return self._take(n) is None

    async def __aenter__(self):
        await self.acquire(1)
        return self

    async def __aexit__(self, *exc):
        return None
