"""Mutant: paces every token 1/rate apart with `sleep`, so there is no burst: 20 concurrent
acquires are granted at 0, 0.2, 0.4, ... 3.8 instead of 5 at once and then one every 0.2 s.

Targets: test_twenty_concurrent_acquires, test_refill_after_idle
"""

import asyncio


class TokenBucket:
    def __init__(self, rate, capacity):
        self._rate = rate
        self._capacity = capacity
        self._next = 0.0  # loop time the next token may go out
        self._lock = asyncio.Lock()
        self._waiting = 0

    def _check(self, n):
        if not 1 <= n <= self._capacity:
            raise ValueError(n)

    async def acquire(self, n=1):
        self._check(n)
        self._waiting += 1
        try:
            async with self._lock:
                now = asyncio.get_running_loop().time()
                if self._next > now:
                    await asyncio.sleep(self._next - now)
                self._next = max(now, self._next) + n / self._rate
        finally:
            self._waiting -= 1

    def try_acquire(self, n=1):
        self._check(n)
        now = asyncio.get_running_loop().time()
        if self._waiting or self._next > now:
            return False
        self._next = now + n / self._rate
        return True

    async def __aenter__(self):
        await self.acquire(1)
        return self

    async def __aexit__(self, *exc):
        return None
