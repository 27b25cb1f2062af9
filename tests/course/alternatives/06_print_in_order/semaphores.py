"""Alternative: Semaphore(0) batons for InOrder, a Condition with a turn counter for FooBar."""

import asyncio


class InOrder:
    def __init__(self):
        self._after_first = asyncio.Semaphore(0)
        self._after_second = asyncio.Semaphore(0)

    async def first(self, emit):
        await emit()
        self._after_first.release()

    async def second(self, emit):
        await self._after_first.acquire()
        await emit()
        self._after_second.release()

    async def third(self, emit):
        await self._after_second.acquire()
        await emit()


class FooBar:
    def __init__(self, n):
        self.n = n
        self._turn = 0  # even: foo's turn, odd: bar's turn
        self._cond = asyncio.Condition()

    async def _take_turns(self, parity, emit):
        for _ in range(self.n):
            async with self._cond:
                await self._cond.wait_for(lambda: self._turn % 2 == parity)
            await emit()
            async with self._cond:
                self._turn += 1
                self._cond.notify_all()

    async def foo(self, emit):
        await self._take_turns(0, emit)

    async def bar(self, emit):
        await self._take_turns(1, emit)
