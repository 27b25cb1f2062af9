"""Mutant: every TimeoutError is taken for its own timeout, so the stream's own
TimeoutError is mislabelled as "idle" instead of propagating.

Targets: test_stream_timeout_error_propagates
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
                items.append(item)
                cm.reschedule(min(loop.time() + idle, deadline))
        return Collected(items, "exhausted")
    except TimeoutError:  # no cm.expired() check
        return Collected(items, "deadline" if cm.when() >= deadline else "idle")
    finally:
        await stream.aclose()
