"""Exercise 19: a token bucket rate limiter.

Let callers through at a steady rate, with bursts up to a capacity, first come
first served. Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio


class TokenBucket:
    """A bucket of at most ``capacity`` tokens, refilled continuously at ``rate`` tokens
    per loop-second (``loop.time()``, never the wall clock).

    Contract:
    - The bucket starts full. Tokens are fractional: half a token refills in
      ``0.5 / rate`` seconds, and the bucket never holds more than ``capacity``.
    - ``acquire(n)`` returns the moment ``n`` tokens are granted to the caller.
      Waiters are served strictly first come, first served: a small request
      never overtakes a bigger one that asked first.
    - ``try_acquire(n)`` never waits: it takes ``n`` tokens and returns True if
      nobody is waiting and the tokens are there, and otherwise returns False
      and takes nothing.
    - ``n`` outside ``1..capacity`` raises ValueError (in both methods).
    - A cancelled waiter takes nothing and delays no one: the waiters behind it
      are served as if it had never asked, and its CancelledError propagates.
    - ``async with bucket:`` acquires one token; leaving the block gives nothing back.
    """

    def __init__(self, rate: float, capacity: int) -> None:
        self.rate = rate
        self.capacity = capacity
        # TODO: the state: how many tokens, when they were last counted, who waits.

    async def acquire(self, n: int = 1) -> None:
        """Wait until ``n`` tokens are granted to this caller (strictly FIFO)."""
        # TODO
        raise NotImplementedError

    def try_acquire(self, n: int = 1) -> bool:
        """Take ``n`` tokens now if nobody waits and they are there; never wait."""
        # TODO
        raise NotImplementedError

    async def __aenter__(self) -> TokenBucket:
        """``async with bucket:`` acquires one token and returns the bucket."""
        # TODO
        raise NotImplementedError

    async def __aexit__(self, *exc: object) -> None:
        """Leaving the block gives nothing back, and exceptions propagate."""
        # TODO
        raise NotImplementedError
