"""Mutant: every waiter sleeps on its own until the bucket could hold its `n` tokens, with no
queue: a small request wakes first and overtakes a bigger one that asked before it.

Targets: test_small_requests_never_overtake, test_big_request_then_small_ones
"""

import asyncio


class TokenBucket:
    def __init__(self, rate, capacity):
        self._rate = rate
        self._capacity = capacity
        self._tokens = float(capacity)
        self._last = None
        self._waiting = 0

    def _check(self, n):
        if not 1 <= n <= self._capacity:
            raise ValueError(n)

    def _refill(self):
        now = asyncio.get_running_loop().time()
        if self._last is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now

    async def acquire(self, n=1):
        self._check(n)
        self._waiting += 1
        try:
            while True:
                self._refill()
                if self._tokens + 1e-9 >= n:
                    self._tokens -= n
                    return
                await asyncio.sleep((n - self._tokens) / self._rate)
        finally:
            self._waiting -= 1

    def try_acquire(self, n=1):
        self._check(n)
        self._refill()
        if self._waiting or self._tokens + 1e-9 < n:
            return False
        self._tokens -= n
        return True

    async def __aenter__(self):
        await self.acquire(1)
        return self

    async def __aexit__(self, *exc):
        return None
