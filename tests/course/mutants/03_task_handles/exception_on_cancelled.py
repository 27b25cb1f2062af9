"""Mutant: the done-callback calls `t.exception()` without checking `t.cancelled()` first.

On a cancelled task `exception()` raises CancelledError inside the callback:
asyncio logs "Exception in callback" and the status stays "running".

Targets: test_status_moves_to_final_state, test_cancel_by_name
"""

import asyncio


class Supervisor:
    def __init__(self):
        self._tasks = {}
        self._outcomes = {}

    def spawn(self, fn, *, name):
        if name in self._tasks:
            raise ValueError(name)
        task = asyncio.create_task(fn(), name=name)
        self._tasks[name] = task
        task.add_done_callback(self._record)
        return task

    def _record(self, task):
        exc = task.exception()  # raises CancelledError on a cancelled task
        if task.cancelled():
            self._outcomes[task] = "cancelled"
        elif exc is not None:
            self._outcomes[task] = f"error:{type(exc).__name__}"
        else:
            self._outcomes[task] = "ok"

    def status(self):
        return {n: self._outcomes.get(t, "running") for n, t in self._tasks.items()}

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
