"""Mutant: FooBar's Events are set but never cleared, so after one round both sides run freely.

Targets: test_foobar_alternates, test_foobar_takes_one_second
"""

import asyncio


class InOrder:
    def __init__(self):
        self.first_done = asyncio.Event()
        self.second_done = asyncio.Event()

    async def first(self, emit):
        await emit()
        self.first_done.set()

    async def second(self, emit):
        await self.first_done.wait()
        await emit()
        self.second_done.set()

    async def third(self, emit):
        await self.second_done.wait()
        await emit()


class FooBar:
    def __init__(self, n):
        self.n = n
        self.foo_turn = asyncio.Event()
        self.bar_turn = asyncio.Event()
        self.foo_turn.set()

    async def foo(self, emit):
        for _ in range(self.n):
            await self.foo_turn.wait()
            await emit()
            self.bar_turn.set()

    async def bar(self, emit):
        for _ in range(self.n):
            await self.bar_turn.wait()
            await emit()
            self.foo_turn.set()
