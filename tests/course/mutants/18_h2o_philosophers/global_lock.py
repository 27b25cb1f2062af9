"""Mutant: one Lock for the whole table: safe, but only one philosopher eats at a time (T=5.0).

Targets: test_five_single_meals, test_five_philosophers_three_meals
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
        async with self._o:
            await self._barrier.wait()
            release()


class DiningTable:
    def __init__(self, n=5):
        self._lock = asyncio.Lock()

    async def wants_to_eat(self, p, pick_left, pick_right, eat, put_left, put_right):
        async with self._lock:
            pick_left()
            pick_right()
            try:
                await eat()
            finally:
                put_left()
                put_right()
