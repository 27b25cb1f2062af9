"""Mutant: H2O acquires and releases the hydrogen slot without `finally`, so a cancelled H keeps it.

Targets: test_h2o_cancelled_hydrogen
"""

import asyncio


class H2O:
    def __init__(self):
        self._h = asyncio.Semaphore(2)
        self._o = asyncio.Semaphore(1)
        self._barrier = asyncio.Barrier(3)

    async def hydrogen(self, release):
        await self._h.acquire()
        await self._barrier.wait()
        release()
        self._h.release()

    async def oxygen(self, release):
        async with self._o:
            await self._barrier.wait()
            release()


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
