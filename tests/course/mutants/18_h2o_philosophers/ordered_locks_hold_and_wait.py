"""Mutant: one Lock per fork, lower-numbered fork first (no deadlock, but hold-and-wait: T=5.0).

Targets: test_five_single_meals, test_picks_and_eating_share_a_timestamp
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
        first, second = sorted((left, right))
        picks = {left: pick_left, right: pick_right}
        puts = {left: put_left, right: put_right}
        async with self._forks[first]:
            picks[first]()
            try:
                async with self._forks[second]:
                    picks[second]()
                    try:
                        await eat()
                    finally:
                        puts[second]()
            finally:
                puts[first]()
