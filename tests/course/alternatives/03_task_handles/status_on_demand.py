"""Alternative: status derived on demand from the stored Tasks.

The only done-callback retrieves a failure's exception (so asyncio never logs
"never retrieved"); status() reads each Task when asked. join gathers with
return_exceptions=True under a shield, re-checking for late spawns.
"""

import asyncio


def _retrieve(task):
    if not task.cancelled():
        task.exception()


class Supervisor:
    def __init__(self):
        self._tasks = {}

    def spawn(self, fn, *, name):
        if name in self._tasks:
            raise ValueError(f"name {name!r} is in use")
        task = asyncio.create_task(fn(), name=name)
        task.add_done_callback(_retrieve)
        self._tasks[name] = task
        return task

    @staticmethod
    def _describe(task):
        if not task.done():
            return "running"
        if task.cancelled():
            return "cancelled"
        exc = task.exception()
        return "ok" if exc is None else "error:" + type(exc).__name__

    def status(self):
        return {name: self._describe(t) for name, t in self._tasks.items()}

    def cancel(self, name):
        try:
            task = self._tasks[name]
        except KeyError:
            return False
        return task.cancel()

    def rename(self, old, new):
        task = self._tasks[old]  # KeyError for an unknown name
        if new in self._tasks:
            raise ValueError(f"name {new!r} is in use")
        task.set_name(new)
        del self._tasks[old]
        self._tasks[new] = task

    async def join(self):
        while True:
            pending = [t for t in self._tasks.values() if not t.done()]
            if not pending:
                return
            # shield: cancelling join's caller must not cancel the tasks.
            await asyncio.shield(asyncio.gather(*pending, return_exceptions=True))
