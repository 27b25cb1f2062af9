"""Alternative: a per-item asyncio.wait({anext_task}, timeout=min(idle, deadline - now)),
and asyncio.timeout instead of wait_for for the fetch."""

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
        try:
            if pending is not None:
                pending.cancel()
                await asyncio.wait({pending})
        finally:
            await stream.aclose()
