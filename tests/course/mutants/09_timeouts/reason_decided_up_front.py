"""Mutant: the reason is decided once, up front, from whichever limit is nearer at the
start: "deadline" if the deadline comes within one idle period, "idle" otherwise. A
deadline that passes while items keep coming within the idle limit is then reported
as "idle".

The fixed checks use idle=100 or deadline=100, where the nearer limit is also the
one that fires; only the property over planned streams has both limits in play.
Every other check passes.

Targets: test_collect_matches_the_rules
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
    reason = "deadline" if deadline - loop.time() <= idle else "idle"  # the bug: decided now
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
        return Collected(items, reason)
    finally:
        await stream.aclose()
