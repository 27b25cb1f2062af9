"""Reference solution for exercise 08: a TaskGroup, and except* to unwrap its group."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def _run(factory: Callable[[], Awaitable[T]]) -> T:
    # TaskGroup.create_task needs a coroutine; a factory may return any awaitable.
    return await factory()


async def all_or_nothing(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run every job concurrently; the TaskGroup does the cancelling and the waiting."""
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run(factory)) for factory in factories]
    # Leaving the block means every task finished successfully: if one had
    # failed, the group would have cancelled the others, awaited their cleanup
    # and raised an ExceptionGroup of the errors (first failure first).
    return [task.result() for task in tasks]


async def fail_fast(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """gather's reporting (the bare first error) with TaskGroup's cleanup guarantees."""
    try:
        return await all_or_nothing(factories)
    except* Exception as group:
        # The first member is the first failure; later members are errors the
        # siblings raised while being cancelled, and must not replace it.
        # `except* Exception` never matches CancelledError, so a cancel of the
        # caller propagates untouched.
        raise group.exceptions[0] from None
