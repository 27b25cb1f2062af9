"""Alternative: one-shot Futures as batons for InOrder, Semaphore(1)/Semaphore(0) for FooBar.

A Future awaited directly is cancelled together with its waiter, so the
waiters shield it: a cancelled `third` then leaves the Future intact and
`second` can still resolve it.
"""

import asyncio


class InOrder:
    def __init__(self):
        self._batons = {}

    def _baton(self, name):
        # Created lazily, inside the running loop.
        if name not in self._batons:
            self._batons[name] = asyncio.get_running_loop().create_future()
        return self._batons[name]

    def _pass(self, name):
        baton = self._baton(name)
        if not baton.done():
            baton.set_result(None)

    async def first(self, emit):
        await emit()
        self._pass("first")

    async def second(self, emit):
        await asyncio.shield(self._baton("first"))
        await emit()
        self._pass("second")

    async def third(self, emit):
        await asyncio.shield(self._baton("second"))
        await emit()


class FooBar:
    def __init__(self, n):
        self.n = n
        self._foo = asyncio.Semaphore(1)
        self._bar = asyncio.Semaphore(0)

    async def foo(self, emit):
        for _ in range(self.n):
            await self._foo.acquire()
            await emit()
            self._bar.release()

    async def bar(self, emit):
        for _ in range(self.n):
            await self._bar.acquire()
            await emit()
            self._foo.release()
