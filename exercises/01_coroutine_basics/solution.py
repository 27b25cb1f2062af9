"""Exercise 01: coroutine basics.

Coroutine functions and coroutine objects, waiting without blocking the loop,
loop time, and asyncio.run for synchronous callers.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

CALLS: int = 0
"""How many times greet's body has started running (see greet)."""


async def greet(name: str, delay: float = 0.0) -> str:
    """Wait ``delay`` seconds, then return ``"Hello, <name>!"``.

    Contract:
    - ``CALLS`` goes up by 1 when greet's body starts running (when the
      coroutine first runs), before it waits.
    - The wait must not block the event loop: other tasks run meanwhile, and
      ``greet("x", 1.5)`` takes 1.5 s of loop time.
    """
    # TODO: count the call in CALLS (`global CALLS`), wait with asyncio.sleep, return the greeting.
    raise NotImplementedError


def make_greeting(name: str, delay: float = 0.0) -> Coroutine[Any, Any, str]:
    """Return a coroutine that greets ``name`` once awaited.

    Contract:
    - The coroutine has not started: nothing of greet runs (``CALLS`` does not
      change) until someone awaits it, even after the loop has run a while.
    - Awaiting it later returns ``"Hello, <name>!"``.
    """
    # TODO: return the coroutine object; do not schedule it.
    raise NotImplementedError


async def heartbeat(count: int, interval: float, stamps: list[float]) -> None:
    """Append the loop's time to ``stamps`` every ``interval`` seconds, ``count`` times.

    Contract:
    - The first stamp comes one ``interval`` after the start, the last one
      ``count * interval`` after it; heartbeat returns right after the last.
    - Stamps are ``asyncio.get_running_loop().time()`` values, appended to the
      very list passed in.
    - If heartbeat is cancelled, the stamps taken so far stay and the
      cancellation propagates.
    """
    # TODO: sleep one interval, append loop.time(), repeat count times.
    raise NotImplementedError


def greet_sync(name: str, delay: float = 0.0) -> str:
    """Run greet to completion for synchronous code and return its greeting.

    Contract:
    - With no event loop running in this thread, it uses ``asyncio.run``.
    - Called while a loop is running in this thread, it raises ``RuntimeError``
      and leaves no coroutine behind un-awaited.
    """
    # TODO: check for a running loop first, then asyncio.run(greet(name, delay)).
    raise NotImplementedError
