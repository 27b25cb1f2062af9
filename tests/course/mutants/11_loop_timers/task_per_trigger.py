"""Mutant: every trigger starts a new sleeping task, and none is cancelled (3 calls for 3 triggers).

Targets: test_burst_calls_once_with_last_args, test_burst_call_is_wait_after_last_trigger
"""

import asyncio
import math


class Debouncer:
    def __init__(self, fn, wait):
        self._fn, self._wait = fn, wait
        self._tasks = set()

    async def _later(self, args):
        await asyncio.sleep(self._wait)
        self._fn(*args)

    def trigger(self, *args):
        task = asyncio.ensure_future(self._later(args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flush(self):
        for task in list(self._tasks):
            task.cancel()
        # the last trigger's args would be needed here; this mutant never gets that far
        self._tasks.clear()

    def cancel(self):
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()


class PeriodicScheduler:
    """Correct here: per-job tasks sleeping until deadline - loop.time()."""

    def __init__(self, *, on_error):
        self._on_error = on_error
        self._jobs = []
        self._stopped = None
        self._tasks = []

    def every(self, interval, job, *, name):
        self._jobs.append((interval, job, name))

    async def _loop(self, interval, job, name, start):
        loop = asyncio.get_running_loop()
        k = 0
        while True:
            delay = start + k * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await job()
            except Exception as exc:
                self._on_error(name, exc)
            k = max(k + 1, math.ceil((loop.time() - start) / interval - 1e-9))

    async def run(self):
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        start = loop.time()
        self._tasks = [asyncio.ensure_future(self._loop(i, j, n, start)) for i, j, n in self._jobs]
        try:
            await self._stopped.wait()
        finally:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self):
        for t in self._tasks:
            t.cancel()
        if self._stopped is not None:
            self._stopped.set()

