"""Alternative: LeakGuard records the tasks created during the block with a temporary
task factory (restored on exit) instead of diffing all_tasks(); LagMonitor measures
with time.monotonic and stops its sampler with contextlib.suppress."""

import asyncio
import contextlib
import time


def describe_tasks():
    me = asyncio.current_task()
    out = []
    for task in asyncio.all_tasks():
        if task is not me:
            out.append((task.get_name(), task.get_coro().__qualname__))
    out.sort()
    return out


class LeakedTasksError(Exception):
    def __init__(self, names):
        super().__init__(", ".join(names))
        self.names = list(names)


class LeakGuard:
    def __init__(self, *, grace=0.0):
        self.grace = grace
        self.leaked = []

    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._previous = loop.get_task_factory()
        created = self._created = []
        previous = self._previous

        def factory(loop, coro, **kwargs):
            if previous is None:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            else:
                task = previous(loop, coro, **kwargs)
            created.append(task)
            return task

        loop.set_task_factory(factory)
        return self

    def _pending(self):
        return [t for t in self._created if not t.done()]

    async def __aexit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self._pending():
                deadline = self._loop.time() + self.grace
                while (pending := self._pending()) and self._loop.time() < deadline:
                    await asyncio.wait(pending, timeout=deadline - self._loop.time())
            names = []
            while pending := self._pending():
                for t in pending:
                    t.cancel()
                    names.append(t.get_name())
                await asyncio.gather(*pending, return_exceptions=True)
            self.leaked = names
        finally:
            self._loop.set_task_factory(self._previous)
        if exc_type is None and names:
            raise LeakedTasksError(names)
        return False


class LagMonitor:
    def __init__(self, interval, threshold):
        self.interval = interval
        self.threshold = threshold
        self.max_lag = 0.0
        self.stalls = 0

    async def _run(self):
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            lag = time.monotonic() - before - self.interval
            if lag > self.max_lag:
                self.max_lag = lag
            if lag > self.threshold:
                self.stalls += 1

    async def __aenter__(self):
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc):
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
