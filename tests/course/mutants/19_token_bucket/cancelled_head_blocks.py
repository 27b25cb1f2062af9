"""Mutant: a cancelled waiter stays in the queue until the timer armed for it fires; only then
is it skipped. A cancelled head therefore keeps blocking everyone behind it (until t=1.0 s
instead of leaving at 0.5 s).

Targets: test_cancelled_head_lets_next_through
"""

import asyncio
from collections import deque


class TokenBucket:
    def __init__(self, rate, capacity):
        self._rate = float(rate)
        self._capacity = capacity
        self._tokens = float(capacity)
        self._last = None
        self._waiters = deque()  # [n, future]
        self._timer = None

    def _check(self, n):
        if not 1 <= n <= self._capacity:
            raise ValueError(n)

    def _refill(self, now):
        if self._last is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def _serve(self):
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill(now)
        self._timer = None
        while self._waiters:
            n, fut = self._waiters[0]
            if fut.cancelled():
                self._waiters.popleft()
                continue
            if self._tokens + 1e-9 < n:
                self._timer = loop.call_at(now + (n - self._tokens) / self._rate, self._serve)
                return
            self._waiters.popleft()
            self._tokens -= n
            fut.set_result(None)

    async def acquire(self, n=1):
        self._check(n)
        loop = asyncio.get_running_loop()
        self._refill(loop.time())
        if not self._waiters and self._tokens + 1e-9 >= n:
            self._tokens -= n
            return
        fut = loop.create_future()
        self._waiters.append((n, fut))
        if self._timer is None:
            self._serve()
        await fut  # a cancel leaves the dead entry in the queue

    def try_acquire(self, n=1):
        self._check(n)
        self._refill(asyncio.get_running_loop().time())
        if self._waiters or self._tokens + 1e-9 < n:
            return False
        self._tokens -= n
        return True

    async def __aenter__(self):
        await self.acquire(1)
        return self

    async def __aexit__(self, *exc):
        return None
