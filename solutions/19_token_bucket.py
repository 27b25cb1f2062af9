"""Reference solution for exercise 19: a FIFO token bucket with one call_at timer for the head.

The state is the number of tokens (a float) and the loop time it was last brought up
to date; the tokens in between are computed, never ticked in by a background task.
Waiters queue as (n, Future) in arrival order. Only the head can be served next, so
one timer, armed for the instant the head will have enough tokens, is all it takes.
Tokens are taken at the moment of the grant, never reserved in advance, so a
cancelled waiter has nothing to give back: it only leaves the queue.
"""

from __future__ import annotations

import asyncio
from collections import deque

# Float arithmetic can leave 0.9999999999999998 tokens where 1 is due
# (0.6 - 0.4 == 0.19999999999999996): count that as enough, or the head would
# re-arm its timer at the same instant forever.
_EPSILON = 1e-9


class _Waiter:
    __slots__ = ("future", "n")

    def __init__(self, n: int, future: asyncio.Future[None]) -> None:
        self.n = n
        self.future = future


class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled continuously at ``rate`` per loop-second."""

    def __init__(self, rate: float, capacity: int) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self._rate = float(rate)
        self._capacity = capacity
        self._tokens = float(capacity)  # the bucket starts full
        self._updated: float | None = None  # loop time the tokens were counted at
        self._waiters: deque[_Waiter] = deque()
        self._timer: asyncio.TimerHandle | None = None

    # -- bookkeeping ------------------------------------------------------
    def _check(self, n: int) -> None:
        if not 1 <= n <= self._capacity:
            raise ValueError(f"n must be between 1 and the capacity {self._capacity}, not {n}")

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _enough(self, n: int) -> bool:
        return self._tokens + _EPSILON >= n

    def _serve(self) -> None:
        """Grant waiters in order while the tokens last; arm the timer for the new head."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill(now)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiters:
            head = self._waiters[0]
            if head.future.done():
                # Cancelled, and its task has not yet run its `except` (several
                # waiters cancelled at once, by a TaskGroup say): skip it.
                self._waiters.popleft()
                continue
            if not self._enough(head.n):
                # The head gets its tokens at exactly this instant: wake up then, not before.
                when = now + (head.n - self._tokens) / self._rate
                self._timer = loop.call_at(when, self._serve)
                return
            self._waiters.popleft()
            self._tokens -= head.n
            head.future.set_result(None)

    # -- the API ------------------------------------------------------------
    async def acquire(self, n: int = 1) -> None:
        """Wait until ``n`` tokens are granted to this caller, strictly first come, first served."""
        self._check(n)
        loop = asyncio.get_running_loop()
        self._refill(loop.time())
        if not self._waiters and self._enough(n):
            self._tokens -= n  # nobody ahead and enough tokens: no need to wait
            return
        waiter = _Waiter(n, loop.create_future())
        self._waiters.append(waiter)
        if self._waiters[0] is waiter:
            self._serve()  # a new head: arm the timer for it
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                # Granted at the very instant the cancel arrived: the caller never
                # sees the tokens, so they go back (refilling cannot have overfilled).
                self._tokens += n
            elif waiter in self._waiters:  # _serve may have skipped it already
                self._waiters.remove(waiter)
            # Whoever stood behind us may be servable right now.
            self._serve()
            raise

    def try_acquire(self, n: int = 1) -> bool:
        """Take ``n`` tokens now if nobody waits and they are there; never wait."""
        self._check(n)
        self._refill(asyncio.get_running_loop().time())
        if self._waiters or not self._enough(n):
            return False
        self._tokens -= n
        return True

    async def __aenter__(self) -> TokenBucket:
        await self.acquire(1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Tokens pace a rate; leaving the block gives nothing back.
        return None
