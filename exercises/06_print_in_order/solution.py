"""Exercise 06: print in order (LeetCode 1114 + 1115), the asyncio way.

Hand a "baton" from one task to another so that their outputs come out in a
fixed order, without polling.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class InOrder:
    """Three tasks call ``first``, ``second`` and ``third`` (once each), in any order.

    Contract:
    - The emits run in the order first, second, third, and never overlap:
      ``second`` may call its ``emit`` only after ``first``'s ``emit`` has
      *finished* (returned), and ``third`` only after ``second``'s has.
    - No polling: a waiting method wakes the instant it may proceed, at the
      same loop time as the previous emit finished.
    - If a waiting call is cancelled, it emits nothing, its CancelledError
      propagates, and the other methods are not disturbed.
    """

    def __init__(self) -> None:
        # TODO: create whatever the three methods share (and nothing at module level).
        pass

    async def first(self, emit: Callable[[], Awaitable[None]]) -> None:
        """Await ``emit()``, then let ``second`` go."""
        # TODO
        raise NotImplementedError

    async def second(self, emit: Callable[[], Awaitable[None]]) -> None:
        """Wait until ``first``'s emit has finished, await ``emit()``, then let ``third`` go."""
        # TODO
        raise NotImplementedError

    async def third(self, emit: Callable[[], Awaitable[None]]) -> None:
        """Wait until ``second``'s emit has finished, then await ``emit()``."""
        # TODO
        raise NotImplementedError


class FooBar:
    """Two tasks: one calls ``foo``, the other ``bar``, in any order (once each).

    Contract:
    - ``foo`` calls its ``emit`` ``n`` times and ``bar`` calls its ``emit`` ``n``
      times, strictly alternating and starting with foo: foo, bar, foo, bar, ...
    - An emit starts only after the other side's previous emit has finished,
      and the instant it has (no polling, no overlap).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        # TODO: create whatever foo and bar share.

    async def foo(self, emit: Callable[[], Awaitable[None]]) -> None:
        """Await ``emit()`` n times, each time waiting for bar's turn to end."""
        # TODO
        raise NotImplementedError

    async def bar(self, emit: Callable[[], Awaitable[None]]) -> None:
        """Await ``emit()`` n times, each time waiting for foo's turn to end."""
        # TODO
        raise NotImplementedError
