"""Reference solution for exercise 21: an ``asyncio.wait(FIRST_COMPLETED)`` loop with a hedge timer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


async def hedged(
    call: Callable[[str], Awaitable[T]],
    replicas: Sequence[str],
    *,
    hedge_delay: float,
    timeout: float | None = None,
) -> T:
    """Return the first successful ``call(replica)``, hedging after ``hedge_delay`` (see the stub)."""
    names = list(replicas)
    if not names:
        raise ValueError("hedged() needs at least one replica")
    loop = asyncio.get_running_loop()
    position: dict[asyncio.Future[Any], int] = {}  # attempt -> its replica's index
    running: set[asyncio.Future[Any]] = set()
    errors: list[Exception] = [None] * len(names)  # type: ignore[list-item]
    hedge_at = loop.time()

    def launch() -> None:
        nonlocal hedge_at
        attempt = asyncio.ensure_future(call(names[len(position)]))
        position[attempt] = len(position)
        running.add(attempt)
        hedge_at = loop.time() + hedge_delay  # the timer counts from the latest start

    try:
        async with asyncio.timeout(timeout):  # None: no deadline
            launch()
            while running:
                more = len(position) < len(names)
                wait = max(0.0, hedge_at - loop.time()) if more else None
                done, _ = await asyncio.wait(
                    running, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                running.difference_update(done)
                for attempt in sorted(done, key=position.__getitem__):
                    error = attempt.exception()
                    if error is None:
                        return attempt.result()  # may be None: still a success
                    errors[position[attempt]] = error  # type: ignore[assignment]
                # Each failure starts the next replica at once; nothing done means
                # the hedge timer expired.
                for _ in range(len(done) or 1):
                    if len(position) < len(names):
                        launch()
    finally:
        # Winner, timeout, or our own cancellation: the others must not outlive us,
        # and their cleanup runs before we return or raise.
        for attempt in running:
            attempt.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    raise ExceptionGroup(f"all {len(names)} replicas failed", errors)
