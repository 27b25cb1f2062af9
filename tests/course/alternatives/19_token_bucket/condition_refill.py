"""Alternative: an asyncio.Condition with refill arithmetic.

Every waiter takes a ticket in a FIFO list and waits on the condition. Only the
ticket at the head may take tokens; it waits on the condition with a timeout of
exactly `(n - tokens) / rate`, the instant its tokens will be there. Whoever
leaves (served or cancelled) notifies everyone, so the new head looks at once.
"""

import asyncio
from collections import deque


class TokenBucket:
    def __init__(self, rate, capacity):
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self._rate = rate
        self._capacity = capacity
        self._tokens = float(capacity)
        self._stamp = None
        self._tickets = deque()
        self._cond = asyncio.Condition()

    def _check(self, n):
        if not 1 <= n <= self._capacity:
            raise ValueError(f"n must be in 1..{self._capacity}, not {n}")

    def _refill(self):
        now = asyncio.get_running_loop().time()
        if self._stamp is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def acquire(self, n=1):
        self._check(n)
        ticket = object()
        async with self._cond:
            self._tickets.append(ticket)
            try:
                while True:
                    self._refill()
                    if self._tickets[0] is not ticket:
                        await self._cond.wait()
                        continue
                    if self._tokens + 1e-9 >= n:
                        self._tokens -= n
                        return
                    try:
                        async with asyncio.timeout((n - self._tokens) / self._rate):
                            await self._cond.wait()
                    except TimeoutError:
                        pass
            finally:
                self._tickets.remove(ticket)
                self._cond.notify_all()

    def try_acquire(self, n=1):
        self._check(n)
        self._refill()
        if self._tickets or self._tokens + 1e-9 < n:
            return False
        self._tokens -= n
        return True

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc):
        return None
