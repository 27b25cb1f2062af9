"""Exercise 21: hedged requests, the first response wins.

Ask one replica; if it has not answered after ``hedge_delay``, ask the next
one too; return the first success and cancel the rest.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def hedged(
    call: Callable[[str], Awaitable[T]],
    replicas: Sequence[str],
    *,
    hedge_delay: float,
    timeout: float | None = None,
) -> T:
    """Return the first successful ``call(replica)``, hedging after ``hedge_delay``.

    Contract:
    - ``replicas[0]`` starts at once. The next replica starts when
      ``hedge_delay`` seconds pass since the latest start without a success,
      or immediately when an attempt fails. Each replica is called at most once.
    - The first success wins (``None`` is a success): cancel every other
      attempt, wait for their cleanup, and return its value.
    - If every replica fails, raise an ``ExceptionGroup`` of their exceptions
      in replica order.
    - ``timeout`` (from the call; ``None`` = no limit): cancel everything,
      wait for it, and raise ``TimeoutError``.
    - A cancelled caller cancels every attempt, starts no more, and the
      cancellation propagates.
    """
    # TODO: run attempts as tasks; loop on asyncio.wait(..., FIRST_COMPLETED) with a hedge timeout.
    raise NotImplementedError
