"""Exercise 05: bounded gather with a semaphore.

Run many jobs concurrently, but never more than ``limit`` at once.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(
    factories: Iterable[Callable[[], Awaitable[T]]],
    limit: int,
    *,
    return_exceptions: bool = False,
) -> list[T | Exception]:
    """Run every job made by ``factories``, at most ``limit`` at a time.

    Contract:
    - ``limit < 1`` raises ValueError before any job starts.
    - At most ``limit`` jobs run at once; a new job starts the moment a slot
      frees (no batching).
    - The results come back in *input* order.
    - Default mode: the first failure cancels every other job (running or not
      yet started) and is re-raised as the very same exception object.
    - ``return_exceptions=True``: a failing job's exception fills its slot in
      the result list and its slot frees for the next job.
    - If the caller is cancelled, running jobs are cancelled (their cleanup
      runs), no new job starts, and the cancellation propagates.
    """
    # TODO: implement with one asyncio.Semaphore(limit) created inside this call.
    raise NotImplementedError
