"""Reference solution for exercise 05: one semaphore per call, a TaskGroup for fail-fast."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def bounded_gather(
    factories: Iterable[Callable[[], Awaitable[T]]],
    limit: int,
    *,
    return_exceptions: bool = False,
) -> list[T | Exception]:
    """Run every job made by ``factories``, at most ``limit`` at a time (see the stub)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    jobs = list(factories)
    results: list[Any] = [None] * len(jobs)
    sem = asyncio.Semaphore(limit)

    async def run(i: int, factory: Callable[[], Awaitable[T]]) -> None:
        async with sem:
            try:
                results[i] = await factory()
            except Exception as exc:
                if not return_exceptions:
                    raise
                results[i] = exc

    try:
        async with asyncio.TaskGroup() as tg:
            for i, factory in enumerate(jobs):
                tg.create_task(run(i, factory))
    except ExceptionGroup as group:
        # The first failure is first in the group: re-raise that very object.
        raise group.exceptions[0] from None
    return results
