"""Reference solution for exercise 18: H2O with Semaphore + Barrier, philosophers with a Condition."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class H2O:
    """Atoms wait until they can join a full molecule (2 H + 1 O), see the stub."""

    def __init__(self) -> None:
        # At most 2 hydrogens and 1 oxygen may be "in" the molecule being built;
        # the others queue on the semaphores. The barrier lets the three go at
        # once, and it refuses newcomers until the whole molecule has left it.
        self._hydrogen = asyncio.Semaphore(2)
        self._oxygen = asyncio.Semaphore(1)
        self._molecule = asyncio.Barrier(3)

    async def hydrogen(self, release: Callable[[], None]) -> None:
        async with self._hydrogen:  # released even when cancelled: the slot frees
            await self._molecule.wait()
            # Still holding the slot: the next molecule's atoms cannot get in
            # (let alone be released) before this atom has been released.
            release()

    async def oxygen(self, release: Callable[[], None]) -> None:
        async with self._oxygen:
            await self._molecule.wait()
            release()


class _Request:
    """One philosopher waiting for its two forks."""

    __slots__ = ("forks",)

    def __init__(self, left: int, right: int) -> None:
        self.forks = (left, right)


class DiningTable:
    """n philosophers around n forks, no hold-and-wait, see the stub."""

    def __init__(self, n: int = 5) -> None:
        self._n = n
        self._in_use = [False] * n
        self._waiting: list[_Request] = []  # oldest first
        self._changed = asyncio.Condition()

    def _may_eat(self, me: _Request) -> bool:
        """Does ``me`` get its forks when the waiters are served oldest first?

        Serving the queue in order, each waiter whose two forks are free takes
        them; a waiter whose forks are busy is skipped (it reserves nothing, so
        nobody waits for nothing). A philosopher who asks again right after a
        meal queues behind those already waiting instead of grabbing the forks
        it just put down: nobody starves.
        """
        taken: set[int] = set()
        for request in self._waiting:
            if any(self._in_use[f] or f in taken for f in request.forks):
                continue
            if request is me:
                return True
            taken.update(request.forks)
        return False

    async def wants_to_eat(
        self,
        p: int,
        pick_left: Callable[[], None],
        pick_right: Callable[[], None],
        eat: Callable[[], Awaitable[None]],
        put_left: Callable[[], None],
        put_right: Callable[[], None],
    ) -> None:
        left, right = p, (p + 1) % self._n
        me = _Request(left, right)
        async with self._changed:
            self._waiting.append(me)
            try:
                # Waiting holds no fork: a cancel here leaves nothing to undo.
                await self._changed.wait_for(lambda: self._may_eat(me))
            except BaseException:
                # Cancelled while waiting: leave the queue, and let the others
                # re-check, since we may have been ahead of them.
                self._waiting.remove(me)
                self._changed.notify_all()
                raise
            self._waiting.remove(me)
            # Take both forks in one step, with no await in between.
            self._in_use[left] = self._in_use[right] = True
            pick_left()
            pick_right()
        try:
            await eat()
        finally:
            # Also when cancelled while eating: both forks go down at once.
            put_left()
            put_right()
            self._in_use[left] = self._in_use[right] = False
            async with self._changed:
                self._changed.notify_all()
