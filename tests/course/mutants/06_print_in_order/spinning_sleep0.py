"""Mutant: waiters spin on a flag with `await asyncio.sleep(0)`.

On the virtual clock time never moves while something is always ready: the
busy-wait bound reports it.

Targets: test_any_start_order_runs_in_order, test_second_starts_when_first_emit_ends, test_foobar_takes_one_second, test_foobar_wakes_without_polling
"""

import asyncio


class InOrder:
    def __init__(self):
        self.done = 0

    async def first(self, emit):
        await emit()
        self.done = 1

    async def second(self, emit):
        while self.done < 1:
            await asyncio.sleep(0)
        await emit()
        self.done = 2

    async def third(self, emit):
        while self.done < 2:
            await asyncio.sleep(0)
        await emit()


class FooBar:
    def __init__(self, n):
        self.n = n
        self.turn = "foo"

    async def foo(self, emit):
        for _ in range(self.n):
            while self.turn != "foo":
                await asyncio.sleep(0)
            await emit()
            self.turn = "bar"

    async def bar(self, emit):
        for _ in range(self.n):
            while self.turn != "bar":
                await asyncio.sleep(0)
            await emit()
            self.turn = "foo"
