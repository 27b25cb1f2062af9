"""Mutant: no done-callback; status is read from `done()` on demand.

A failed task's exception is retrieved only if someone happens to call
status() after it failed, so dropping the Supervisor makes asyncio log
"Task exception was never retrieved".

Targets: test_cancel_by_name, test_join_never_raises
"""

import asyncio


class Supervisor:
    def __init__(self):
        self._tasks = {}

    def spawn(self, fn, *, name):
        if name in self._tasks:
            raise ValueError(name)
        task = asyncio.create_task(fn(), name=name)
        self._tasks[name] = task
        return task

    def status(self):
        out = {}
        for name, t in self._tasks.items():
            if not t.done():
                out[name] = "running"
            elif t.cancelled():
                out[name] = "cancelled"
            elif t.exception() is not None:
                out[name] = f"error:{type(t.exception()).__name__}"
            else:
                out[name] = "ok"
        return out

    def cancel(self, name):
        task = self._tasks.get(name)
        return False if task is None else task.cancel()

    def rename(self, old, new):
        if old not in self._tasks:
            raise KeyError(old)
        if new in self._tasks:
            raise ValueError(new)
        task = self._tasks.pop(old)
        task.set_name(new)
        self._tasks[new] = task

    async def join(self):
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.wait(pending)
