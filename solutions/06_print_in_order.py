"""Reference solution for exercise 06: Events as batons.

Each hand-over is an ``asyncio.Event``: the waiter blocks in ``Event.wait()``
and is woken by ``set()`` at the very loop instant the previous emit returned,
so nothing polls and no emits overlap. The baton is passed only *after*
``await emit()`` has returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class InOrder:
    """first, second, third: each emit starts when the previous one has finished."""

    def __init__(self) -> None:
        # Per instance, never per module: two InOrder objects are independent.
        self._first_done = asyncio.Event()
        self._second_done = asyncio.Event()

    async def first(self, emit: Callable[[], Awaitable[None]]) -> None:
        await emit()
        self._first_done.set()  # only now: the emit has *finished*

    async def second(self, emit: Callable[[], Awaitable[None]]) -> None:
        await self._first_done.wait()
        await emit()
        self._second_done.set()

    async def third(self, emit: Callable[[], Awaitable[None]]) -> None:
        # A cancel lands here while waiting; Event.wait() is cancel-safe and the
        # later set() by `second` simply finds no waiter.
        await self._second_done.wait()
        await emit()


class FooBar:
    """foo, bar, foo, bar, ... n times each, one Event per side's turn."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._foo_turn = asyncio.Event()
        self._bar_turn = asyncio.Event()
        self._foo_turn.set()  # foo goes first

    async def foo(self, emit: Callable[[], Awaitable[None]]) -> None:
        for _ in range(self.n):
            await self._foo_turn.wait()
            self._foo_turn.clear()  # take the baton: the next wait really waits
            await emit()
            self._bar_turn.set()  # hand it over once the emit is done

    async def bar(self, emit: Callable[[], Awaitable[None]]) -> None:
        for _ in range(self.n):
            await self._bar_turn.wait()
            self._bar_turn.clear()
            await emit()
            self._foo_turn.set()
