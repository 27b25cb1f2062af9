"""Mutant: the per-item asyncio.wait design (the course's alternative as it stood),
whose `finally` first waits for the cancelled read and only then closes the stream. A
cancel of the caller that lands during that wait (at the very instant the idle limit
or the deadline passes) skips the aclose(): a stream object is left open.

Closing in a nested `finally` (try: cancel and wait for the read; finally: await
stream.aclose()) fixes it. Cancels at other instants (the fixed checks) close the
stream; only the cancellation sweep cancels the caller at the idle instant. Every
other check passes.

Targets: test_cancellation_sweep
"""

import asyncio
from dataclasses import dataclass
from typing import Any


async def fetch_or_default(fetch, *, timeout, default):
    try:
        async with asyncio.timeout(timeout):
            return await fetch()
    except TimeoutError:
        return default


@dataclass
class Collected:
    items: list[Any]
    reason: str


async def _next(stream):
    return await anext(stream)


async def collect_until_idle(stream, *, idle, deadline):
    loop = asyncio.get_running_loop()
    items = []
    pending = None
    try:
        while True:
            left = deadline - loop.time()
            budget = min(idle, left)
            pending = asyncio.ensure_future(_next(stream))
            done, _ = await asyncio.wait({pending}, timeout=max(budget, 0.0))
            if not done:
                return Collected(items, "deadline" if left <= idle else "idle")
            task, pending = pending, None
            try:
                items.append(task.result())
            except StopAsyncIteration:
                return Collected(items, "exhausted")
    finally:
        # A read still in flight (timeout or a cancel of the caller): cancel it and
        # wait until it has finished before closing the stream.
        if pending is not None:
            pending.cancel()
            await asyncio.wait({pending})
        await stream.aclose()
