"""Exercise 02: gather results.

Fetch many keys at once and collect the results in input order, either
failing fast or settling every fetch.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


async def fetch_all(fetch: Callable[[K], Awaitable[V]], keys: Iterable[K]) -> list[V]:
    """Return ``[await fetch(k) for k in keys]``, but with every fetch running at once.

    Contract:
    - Every key is fetched (a key that appears twice is fetched twice), all
      fetches run concurrently, and the results come back in *input* order.
    - ``keys`` may be any iterable, a one-pass iterator included.
    - If a fetch raises, that very exception object is re-raised as soon as it
      happens (the other fetches may be left running or be cancelled).
    - If the caller is cancelled, every running fetch is cancelled and the
      cancellation propagates.
    """
    # TODO: run fetch(key) for every key concurrently.
    raise NotImplementedError


async def fetch_all_settled(
    fetch: Callable[[K], Awaitable[V]], keys: Iterable[K]
) -> list[V | Exception]:
    """Like fetch_all, but a fetch's exception becomes the value of its slot.

    Contract:
    - As fetch_all: every key, concurrently, results in input order.
    - A fetch that raises an ``Exception`` puts that very exception object in
      its slot; the call returns when every fetch has finished.
    - If the caller is cancelled, every running fetch is cancelled and the
      cancellation propagates (no list is returned).
    """
    # TODO: like fetch_all, with each Exception kept in its slot.
    raise NotImplementedError
