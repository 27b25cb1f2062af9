"""Mutant: H2O with the two semaphores but no barrier: an H is released before any O arrives.

Targets: test_h2o_example_molecules, test_h2o_burst_forms_whole_molecules, test_h2o_random_arrivals
"""

import asyncio


class H2O:
    def __init__(self):
        self._h = asyncio.Semaphore(2)
        self._o = asyncio.Semaphore(1)

    async def hydrogen(self, release):
        async with self._h:
            release()

    async def oxygen(self, release):
        async with self._o:
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
