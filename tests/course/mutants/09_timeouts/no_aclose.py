"""Mutant: the stream is never closed with aclose(). An async generator cancelled
mid-read happens to close itself, but a stream object stays open.

Targets: test_stream_closed_before_return, test_collect_caller_cancel
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
    except TimeoutError:
        if not cm.expired():
            raise
        return Collected(items, "deadline" if cm.when() >= deadline else "idle")
