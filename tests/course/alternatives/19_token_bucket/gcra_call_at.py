"""Alternative: GCRA (the generic cell rate algorithm) with `call_at` wake-ups.

Instead of counting tokens, keep the theoretical arrival time `tat`: the loop time at
which the bucket would be full again. At time t the bucket holds
`capacity - max(0, tat - t) * rate` tokens, so a request of n conforms once
`t >= tat - (capacity - n) / rate`, and granting it moves `tat` to `max(tat, t) + n / rate`.
Waiters queue FIFO; the head's conformance instant is computed once and a single
`call_at` timer wakes it exactly then.
"""

import asyncio
from collections import deque

EPS = 1e-9


class TokenBucket:
    def __init__(self, rate, capacity):
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self._interval = 1.0 / rate  # seconds per token
        self._capacity = capacity
        self._tat = float("-inf")  # a bucket that was full forever
        self._queue = deque()  # [n, future]
        self._timer = None

    def _check(self, n):
        if not 1 <= n <= self._capacity:
            raise ValueError(f"n must be in 1..{self._capacity}, not {n}")

    def _conforms_at(self, n):
        return self._tat - (self._capacity - n) * self._interval

    def _grant(self, n, now):
        self._tat = max(self._tat, now) + n * self._interval

    def _wake(self):
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._queue:
            n, fut = self._queue[0]
            if fut.done():  # cancelled; its task has not run its `except` yet
                self._queue.popleft()
                continue
            at = self._conforms_at(n)
            if at > now + EPS:
                self._timer = loop.call_at(at, self._wake)
                return
            self._queue.popleft()
            self._grant(n, now)
            fut.set_result(None)

    async def acquire(self, n=1):
        self._check(n)
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._queue and self._conforms_at(n) <= now + EPS:
            self._grant(n, now)
            return
        fut = loop.create_future()
        entry = (n, fut)
        self._queue.append(entry)
        if self._queue[0] is entry:
            self._wake()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                # Granted as the cancel arrived: undo the grant.
                self._tat -= n * self._interval
            elif entry in self._queue:  # _wake may have dropped it already
                self._queue.remove(entry)
            self._wake()
            raise

    def try_acquire(self, n=1):
        self._check(n)
        now = asyncio.get_running_loop().time()
        if self._queue or self._conforms_at(n) > now + EPS:
            return False
        self._grant(n, now)
        return True

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc):
        return None
