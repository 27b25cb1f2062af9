"""Mutant: `join` is a single `gather(*tasks)` over the tasks known when it is called.

It misses a task spawned while it waits, re-raises the first task error, and
cancels every task when join's caller is cancelled.

Targets: test_join_waits_for_late_spawn, test_join_never_raises, test_cancelling_join_caller_leaves_tasks
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
        if task.cancelled():
            self._outcomes[task] = "cancelled"
        elif (exc := task.exception()) is not None:
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
        await asyncio.gather(*self._tasks.values())
