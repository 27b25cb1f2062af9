"""Mutant: philosophers with a direct hand-off. Whoever puts forks down marks them in use
for the next waiting philosopher whose two forks are free and resolves its future. A
philosopher cancelled just after its forks were handed to it (its future already
resolved, its task not yet resumed) only leaves the queue: the forks it was promised
stay marked in use forever, and its neighbours starve.

Cancelled while plainly waiting or while eating (the fixed checks), it cleans up
correctly; only the cancellation sweep cancels a philosopher at the instant a
neighbour hands it the forks. Every other check passes.

Targets: test_cancellation_sweep
"""

import asyncio


class H2O:
    def __init__(self):
        self._hydrogen = asyncio.Semaphore(2)
        self._oxygen = asyncio.Semaphore(1)
        self._molecule = asyncio.Barrier(3)

    async def hydrogen(self, release):
        async with self._hydrogen:
            await self._molecule.wait()
            release()

    async def oxygen(self, release):
        async with self._oxygen:
            await self._molecule.wait()
            release()


class DiningTable:
    def __init__(self, n=5):
        self._n = n
        self._busy = [False] * n
        self._waiting = []  # (left, right, future), oldest first

    def _hand_off(self):
        for entry in list(self._waiting):
            left, right, granted = entry
            if granted.done():
                self._waiting.remove(entry)
            elif not self._busy[left] and not self._busy[right]:
                self._busy[left] = self._busy[right] = True  # promised to this philosopher
                self._waiting.remove(entry)
                granted.set_result(None)

    async def wants_to_eat(self, p, pick_left, pick_right, eat, put_left, put_right):
        left, right = p, (p + 1) % self._n
        granted = asyncio.get_running_loop().create_future()
        entry = (left, right, granted)
        self._waiting.append(entry)
        self._hand_off()
        try:
            await granted
        except asyncio.CancelledError:
            # The bug: if the forks were handed over just as the cancel landed
            # (granted.done() and not granted.cancelled()), they must be given back.
            if entry in self._waiting:
                self._waiting.remove(entry)
            raise
        pick_left()
        pick_right()
        try:
            await eat()
        finally:
            put_left()
            put_right()
            self._busy[left] = self._busy[right] = False
            self._hand_off()
