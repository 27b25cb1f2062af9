"""Exercise 16: retry with exponential backoff, jitter and timeouts.

Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    base_delay: float,
    factor: float = 2.0,
    max_delay: float = float("inf"),
    jitter: Callable[[float], float] = lambda d: d,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    attempt_timeout: float | None = None,
    total_timeout: float | None = None,
) -> T:
    """Await ``fn()`` until it succeeds, at most ``attempts`` times, and return its result.

    Contract:
    - After failure number k (k = 1, 2, ...), sleep
      ``jitter(min(max_delay, base_delay * factor ** (k - 1)))`` seconds, then
      call ``fn()`` again. Never sleep after the last attempt.
    - An error that is not an instance of ``retry_on`` propagates at once.
      After the last attempt, its error is re-raised as it is (the same object).
    - ``attempt_timeout``: an attempt running longer is cancelled, and counts
      as a failure that is retried.
    - ``total_timeout``: a deadline over everything, sleeps included: the
      attempt or sleep in progress is cancelled and ``TimeoutError`` raised
      exactly when it passes.
    - A ``CancelledError`` is never retried: cancelling the caller stops
      everything at once.
    """
    # TODO: implement with asyncio.sleep and asyncio.timeout.
    raise NotImplementedError
