"""Mutant: one Lock per fork, taken left then right (hold-and-wait; can deadlock).

Targets: test_picks_and_eating_share_a_timestamp, test_neighbours_never_eat_together
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
        self._n = n
        self._forks = [asyncio.Lock() for _ in range(n)]

    async def wants_to_eat(self, p, pick_left, pick_right, eat, put_left, put_right):
        left, right = p, (p + 1) % self._n
        async with self._forks[left]:
            pick_left()
            try:
                async with self._forks[right]:
                    pick_right()
                    try:
                        await eat()
                    finally:
                        put_right()
            finally:
                put_left()
