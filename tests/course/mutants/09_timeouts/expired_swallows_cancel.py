"""Mutant: fetch_or_default catches CancelledError too and returns the default whenever
its timeout has expired ("then it was our timeout"). A cancel of the caller that lands
at the very instant the timeout fires is swallowed: cm.expired() is true, yet the
CancelledError is the caller's.

A cancel before the timeout (the fixed check, at 0.5 s) propagates; only the
cancellation sweep cancels the caller at the timeout's instant. Every other check
passes.

Targets: test_cancellation_sweep
"""

import asyncio
from dataclasses import dataclass


async def fetch_or_default(fetch, *, timeout, default):
    cm = asyncio.timeout(timeout)
    try:
        async with cm:
            return await fetch()
    except (TimeoutError, asyncio.CancelledError):
        if cm.expired():
            return default
        raise


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
    finally:
        await stream.aclose()
