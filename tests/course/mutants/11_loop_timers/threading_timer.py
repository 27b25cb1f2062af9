"""Mutant: a threading.Timer debouncer: real seconds on a foreign thread, not loop time.

Targets: test_burst_calls_once_with_last_args, test_burst_call_is_wait_after_last_trigger, test_two_bursts_two_calls
"""

import asyncio
import math
import threading


class Debouncer:
    def __init__(self, fn, wait):
        self._fn, self._wait = fn, wait
        self._timer = None
        self._args = ()

    def trigger(self, *args):
        if self._timer is not None:
            self._timer.cancel()
        self._args = args
        self._timer = threading.Timer(self._wait, self._fn, args)
        self._timer.daemon = True
        self._timer.start()

    def flush(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            asyncio.get_running_loop().call_soon(self._fn, *self._args)

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


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

