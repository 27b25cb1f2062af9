"""Mutant: the hydrogen path holds its slot with `async with`, but the oxygen path was
written with a bare acquire()/release() and no `finally`: a cancelled oxygen keeps the
oxygen slot, and no molecule can ever form again on that object.

The fixed cancellation check cancels a hydrogen; only the instruments cancel an
oxygen while it waits: the property over plans with cancelled atoms, and the
cancellation sweep (which then checks the object still works). Every other check
passes.

Targets: test_h2o_with_cancels, test_cancellation_sweep
"""

import asyncio


class H2O:
    def __init__(self):
        self._h = asyncio.Semaphore(2)
        self._o = asyncio.Semaphore(1)
        self._barrier = asyncio.Barrier(3)

    async def hydrogen(self, release):
        async with self._h:
            await self._barrier.wait()
            release()

    async def oxygen(self, release):
        await self._o.acquire()
        await self._barrier.wait()  # cancelled here: the slot is never given back
        release()
        self._o.release()


class DiningTable:
    def __init__(self, n=5):
        self._n = n
        self._busy = [False] * n
        self._cond = asyncio.Condition()

    async def wants_to_eat(self, p, pick_left, pick_right, eat, put_left, put_right):
        left, right = p, (p + 1) % self._n
        async with self._cond:
            await self._cond.wait_for(lambda: not self._busy[left] and not self._busy[right])
            self._busy[left] = self._busy[right] = True
            pick_left()
            pick_right()
        try:
            await eat()
        finally:
            put_left()
            put_right()
            self._busy[left] = self._busy[right] = False
            async with self._cond:
                self._cond.notify_all()
