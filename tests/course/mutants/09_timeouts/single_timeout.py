"""Mutant: one timeout for the whole collection, never rescheduled after an item
(it stops as "idle" at 0.5 s with two items instead of at 1.1 s with three).

Targets: test_idle_stops_collection, test_idle_time
"""

import asyncio
from dataclasses import dataclass


async def fetch_or_default(fetch, *, timeout, default):
    try:
        return await asyncio.wait_for(fetch(), timeout)
    except TimeoutError:
        return default


@dataclass
class Collected:
    items: list
    reason: str


async def collect_until_idle(stream, *, idle, deadline):
    loop = asyncio.get_running_loop()
    items = []
    try:
        async with asyncio.timeout_at(min(loop.time() + idle, deadline)) as cm:
            async for item in stream:
                items.append(item)  # the limit is never moved
        return Collected(items, "exhausted")
    except TimeoutError:
        if not cm.expired():
            raise
        return Collected(items, "deadline" if cm.when() >= deadline else "idle")
    finally:
        await stream.aclose()
