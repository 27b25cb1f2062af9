"""Mutant: InOrder passes the baton *before* awaiting emit, so the emits overlap.

Targets: test_any_start_order_runs_in_order, test_second_starts_when_first_emit_ends
"""

import asyncio


class InOrder:
    def __init__(self):
        self.first_done = asyncio.Event()
        self.second_done = asyncio.Event()

    async def first(self, emit):
        self.first_done.set()
        await emit()

    async def second(self, emit):
        await self.first_done.wait()
        self.second_done.set()
        await emit()

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
            self.foo_turn.clear()
            await emit()
            self.bar_turn.set()

    async def bar(self, emit):
        for _ in range(self.n):
            await self.bar_turn.wait()
            self.bar_turn.clear()
            await emit()
            self.foo_turn.set()
