"""Alternative: the debouncer as one task plus an Event; the scheduler as one task per job
sleeping until ``deadline - loop.time()`` (fixed rate, missed ticks skipped)."""

import asyncio
import math


class Debouncer:
    def __init__(self, fn, wait):
        self._fn = fn
        self._wait = wait
        self._args = ()
        self._deadline = None  # loop time of the pending call, None when nothing is pending
        self._wake = asyncio.Event()
        self._task = None

    def trigger(self, *args):
        loop = asyncio.get_running_loop()
        self._args = args
        self._deadline = loop.time() + self._wait
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._worker())

    def flush(self):
        if self._deadline is None:
            return
        self._deadline = asyncio.get_running_loop().time()  # due now: the worker calls next
        self._wake.set()

    def cancel(self):
        self._deadline = None
        self._args = ()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _worker(self):
        loop = asyncio.get_running_loop()
        while self._deadline is not None:
            delay = self._deadline - loop.time()
            if delay <= 0:
                args, self._args, self._deadline = self._args, (), None
                self._fn(*args)
                return
            self._wake.clear()
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()  # a trigger, a flush: recompute the delay
            except TimeoutError:
                pass


class PeriodicScheduler:
    def __init__(self, *, on_error):
        self._on_error = on_error
        self._jobs = []
        self._tasks = []
        self._stopped = None

    def every(self, interval, job, *, name):
        self._jobs.append((interval, job, name))

    async def _job_loop(self, interval, job, name, start):
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
            # The next tick is the first one at or after now: the ticks that fell
            # during the run are skipped; one that falls exactly now starts at once.
            k = max(k + 1, math.ceil((loop.time() - start) / interval - 1e-9))

    async def run(self):
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        start = loop.time()
        self._tasks = [
            loop.create_task(self._job_loop(interval, job, name, start))
            for interval, job, name in self._jobs
        ]
        try:
            await self._stopped.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self):
        for task in self._tasks:
            task.cancel()
        if self._stopped is not None:
            self._stopped.set()
