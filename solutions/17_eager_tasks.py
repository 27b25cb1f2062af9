"""Reference solution for exercise 17: eager tasks through eager_task_factory (Python 3.12+)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def spawn_eager(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Run ``coro``'s first step now, in a task named ``name`` (see the stub)."""
    loop = asyncio.get_running_loop()
    # Call the factory function ourselves instead of installing it on the loop:
    # the loop's own factory stays untouched, and the name is given to the Task
    # constructor, so it is already set while the first step runs.
    return asyncio.eager_task_factory(loop, coro, name=name)


async def lookup_all(
    keys: Iterable[str],
    cache: dict[str, str],
    loader: Callable[[str], Awaitable[str]],
) -> dict[str, str]:
    """Every key's value, hits from ``cache`` and misses from ``loader`` (see the stub)."""

    async def lookup(key: str) -> str:
        if key in cache:
            return cache[key]  # a hit: no suspension, the eager task ends right here
        value = await loader(key)
        cache[key] = value  # stored the moment it arrives, never before
        return value

    # One eager task per distinct key: hits are done as soon as they are
    # spawned, misses are suspended in their loader and run concurrently.
    tasks = {key: spawn_eager(lookup(key), name=f"lookup:{key}") for key in dict.fromkeys(keys)}
    try:
        await asyncio.gather(*tasks.values())
    except BaseException:
        # Cancelled (or a load failed): stop every unfinished load and wait for
        # it, so nothing keeps running and no half-done load reaches the cache.
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    return {key: task.result() for key, task in tasks.items()}
