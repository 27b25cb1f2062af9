"""Mutant: the deadline is treated as seconds from the start of the call, not as a loop time.

Targets: test_deadline_is_absolute
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
    deadline = loop.time() + deadline  # wrong: it already is a loop time
    items = []
    try:
        async with asyncio.timeout_at(min(loop.time() + idle, deadline)) as cm:
            async for item in stream:
                items.append(item)
                cm.reschedule(min(loop.time() + idle, deadline))
        return Collected(items, "exhausted")
    except TimeoutError:
        if not cm.expired():
            raise
        return Collected(items, "deadline" if cm.when() >= deadline else "idle")
    finally:
        await stream.aclose()
