"""Reference solution for exercise 01: coroutine functions, awaiting, loop time and asyncio.run."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

CALLS: int = 0


async def greet(name: str, delay: float = 0.0) -> str:
    """Wait ``delay`` seconds without blocking the loop, then return the greeting."""
    global CALLS
    # This line runs when the coroutine first runs (is awaited or wrapped in a
    # Task and scheduled), not when greet(...) is called.
    CALLS += 1
    await asyncio.sleep(delay)  # gives the loop back; time.sleep would freeze it
    return f"Hello, {name}!"


def make_greeting(name: str, delay: float = 0.0) -> Coroutine[Any, Any, str]:
    """Return greet's coroutine object, not started."""
    # Calling a coroutine function runs none of its body: it only builds the
    # coroutine object. Whoever awaits it later runs it.
    return greet(name, delay)


async def heartbeat(count: int, interval: float, stamps: list[float]) -> None:
    """Append ``loop.time()`` to ``stamps`` every ``interval`` seconds, ``count`` times."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for beat in range(1, count + 1):
        # Aim at the beat's planned instant rather than sleeping `interval` after
        # the previous stamp: on a real clock, small delays then never add up.
        await asyncio.sleep(start + beat * interval - loop.time())
        stamps.append(loop.time())
    # A cancellation arrives as CancelledError at the `await` above; we let it
    # propagate, and the stamps taken so far stay in the list.


def greet_sync(name: str, delay: float = 0.0) -> str:
    """Run greet to completion for a synchronous caller."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # No loop runs in this thread: asyncio.run creates one, runs the
        # coroutine to the end and closes the loop again.
        return asyncio.run(greet(name, delay))
    # Checked *before* creating greet(...): a coroutine created here and never
    # awaited would only produce a "never awaited" warning.
    raise RuntimeError(
        "greet_sync() cannot be called while an event loop is running in this thread; "
        "use `await greet(...)` instead"
    )
