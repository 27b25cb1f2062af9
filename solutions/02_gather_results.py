"""Reference solution for exercise 02: asyncio.gather, in both of its modes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


async def fetch_all(fetch: Callable[[K], Awaitable[V]], keys: Iterable[K]) -> list[V]:
    """Fetch every key concurrently; results in input order; the first failure is re-raised."""
    # gather wraps each awaitable in a Task, so every fetch runs at once, and it
    # returns the results in the order of its arguments, whatever order they
    # finish in. The first exception propagates as soon as it is raised, the
    # very same object; the other fetches are left running (an allowed choice).
    # If our caller is cancelled, gather cancels every fetch still running.
    return await asyncio.gather(*(fetch(key) for key in keys))


async def fetch_all_settled(
    fetch: Callable[[K], Awaitable[V]], keys: Iterable[K]
) -> list[V | Exception]:
    """Fetch every key concurrently; a failure becomes its slot's value."""
    # return_exceptions=True turns each fetch's exception into its result. A
    # cancellation of our caller still propagates: gather cancels the running
    # fetches and raises CancelledError instead of returning a list.
    return await asyncio.gather(*(fetch(key) for key in keys), return_exceptions=True)
