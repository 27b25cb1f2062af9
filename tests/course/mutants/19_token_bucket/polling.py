"""Mutant: a FIFO queue with the right arithmetic, but every waiter polls with
`await asyncio.sleep(0.01)` instead of waking at the instant its tokens are there.

Waiters wake up to 10 ms late whenever they did not arrive on the polling grid.

Targets: test_big_request_then_small_ones, test_grants_match_the_model
"""

import asyncio
from collections import deque


class TokenBucket:
    def __init__(self, rate, capacity):
        self._rate = rate
        self._capacity = capacity
        self._tokens = float(capacity)
        self._last = None
        self._queue = deque()

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
        me = object()
        self._queue.append(me)
        try:
            while True:
                self._refill()
                if self._queue[0] is me and self._tokens + 1e-9 >= n:
                    self._tokens -= n
                    return
                await asyncio.sleep(0.01)
        finally:
            self._queue.remove(me)

    def try_acquire(self, n=1):
        self._check(n)
        self._refill()
        if self._queue or self._tokens + 1e-9 < n:
            return False
        self._tokens -= n
        return True

    async def __aenter__(self):
        await self.acquire(1)
        return self

    async def __aexit__(self, *exc):
        return None
