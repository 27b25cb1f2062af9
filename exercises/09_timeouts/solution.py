"""Exercise 09: timeouts.

Fall back to a default when a fetch is too slow, and collect a stream's items
until it ends, goes idle or reaches a deadline, always cleaning up first.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")


async def fetch_or_default(fetch: Callable[[], Awaitable[T]], *, timeout: float, default: T) -> T:
    """Return ``await fetch()``, or ``default`` if it takes longer than ``timeout`` seconds.

    Contract:
    - A fetch that finishes in time: its result, as soon as it is ready.
    - Too slow: ``default`` once ``timeout`` has passed, but only after the fetch
      was cancelled and finished its cleanup.
    - An error of the fetch propagates; a cancel of the caller propagates as
      CancelledError (it is not a timeout).
    """
    # TODO: asyncio.wait_for (or asyncio.timeout) and `except TimeoutError`.
    raise NotImplementedError


@dataclass
class Collected:
    """What collect_until_idle gathered, and why it stopped."""

    items: list[Any]
    reason: Literal["exhausted", "idle", "deadline"]


async def collect_until_idle(
    stream: AsyncIterator[Any], *, idle: float, deadline: float
) -> Collected:
    """Collect ``stream``'s items until it ends, goes idle, or the deadline passes.

    Contract:
    - "exhausted": the stream ended.
    - "idle": no item within ``idle`` seconds of the previous one (or of the start).
    - "deadline": the loop time reached ``deadline``, an absolute ``loop.time()`` value.
    - A TimeoutError raised by the stream itself propagates unchanged.
    - The stream is always closed (``await stream.aclose()``) before returning or
      raising, including when the caller is cancelled (CancelledError propagates).
    """
    # TODO: asyncio.timeout_at, cm.reschedule after each item, cm.expired(), aclose.
    raise NotImplementedError
