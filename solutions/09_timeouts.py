"""Reference solution for exercise 09: wait_for, and one rescheduled timeout_at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")


async def fetch_or_default(fetch: Callable[[], Awaitable[T]], *, timeout: float, default: T) -> T:
    """The fetch's result, or ``default`` once ``timeout`` has passed (see the stub)."""
    try:
        # On timeout wait_for cancels the fetch and waits until it has finished
        # cleaning up, then raises TimeoutError. A cancel of the caller is a
        # CancelledError, not a TimeoutError, so it goes straight through.
        return await asyncio.wait_for(fetch(), timeout)
    except TimeoutError:
        return default


@dataclass
class Collected:
    """What collect_until_idle gathered, and why it stopped."""

    items: list[Any]
    reason: Literal["exhausted", "idle", "deadline"]


async def collect_until_idle(
    stream: AsyncIterator[Any], *, idle: float, deadline: float
) -> Collected:
    """Collect items until the stream ends, goes idle or reaches ``deadline`` (see the stub)."""
    loop = asyncio.get_running_loop()
    items: list[Any] = []
    try:
        # One timeout for the whole loop, moved after every item: the next limit
        # is `idle` after this item, but never later than the absolute deadline.
        async with asyncio.timeout_at(min(loop.time() + idle, deadline)) as cm:
            async for item in stream:
                items.append(item)
                cm.reschedule(min(loop.time() + idle, deadline))
        return Collected(items, "exhausted")
    except TimeoutError:
        if not cm.expired():
            raise  # the stream's own TimeoutError, not ours
        # Which limit was armed when it fired?
        when = cm.when()
        reason: Literal["idle", "deadline"] = (
            "deadline" if when is not None and when >= deadline else "idle"
        )
        return Collected(items, reason)
    finally:
        # Closing an async generator that already finished is a no-op; a stream
        # object may still be open after a cancelled read.
        await stream.aclose()  # type: ignore[attr-defined]
