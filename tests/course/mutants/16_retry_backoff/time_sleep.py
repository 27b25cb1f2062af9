"""Mutant: time.sleep for the backoff: it blocks the loop (and loop time does not move).

Targets: test_three_failures_then_success, test_all_attempts_fail
"""

from __future__ import annotations

import asyncio
import time
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
    """Call ``fn()`` until it succeeds, at most ``attempts`` times (see the stub)."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    # One deadline over everything, sleeps included: when it passes, the
    # attempt or the sleep in progress is cancelled and TimeoutError raised.
    # asyncio.timeout(None) never expires.
    async with asyncio.timeout(total_timeout):
        for k in range(1, attempts + 1):
            try:
                async with asyncio.timeout(attempt_timeout) as attempt_deadline:
                    return await fn()
            # Exception, never BaseException: a CancelledError (the caller's
            # cancel, or the total deadline) must end the retrying at once.
            except Exception as exc:
                # Our own attempt_timeout firing is always worth a retry; an
                # error of fn's own is retried only if retry_on says so.
                timed_out = isinstance(exc, TimeoutError) and attempt_deadline.expired()
                if not (timed_out or isinstance(exc, retry_on)):
                    raise
                if k == attempts:
                    raise  # the last error, as it is; no sleep after the last attempt
            time.sleep(jitter(min(max_delay, base_delay * factor ** (k - 1))))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
