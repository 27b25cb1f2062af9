"""Mutant: `await job(); await asyncio.sleep(interval)`: the schedule drifts (0, 1.3, 2.6, ...).

Targets: test_fixed_rate_starts, test_failing_job_keeps_cadence
"""

import asyncio


class Debouncer:
    """Correct here: call_later plus TimerHandle.cancel."""

    def __init__(self, fn, wait):
        self._fn, self._wait, self._handle, self._args = fn, wait, None, ()

    def trigger(self, *args):
        if self._handle is not None:
            self._handle.cancel()
        self._args = args
        self._handle = asyncio.get_running_loop().call_later(self._wait, self._fire)

    def flush(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = asyncio.get_running_loop().call_soon(self._fire)

    def cancel(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self):
        self._handle = None
        self._fn(*self._args)


class PeriodicScheduler:
    def __init__(self, *, on_error):
        self._on_error = on_error
        self._jobs = []
        self._stopped = None
        self._tasks = []

    def every(self, interval, job, *, name):
        self._jobs.append((interval, job, name))

    async def _loop(self, interval, job, name):
        while True:
            try:
                await job()
            except Exception as exc:
                self._on_error(name, exc)
            await asyncio.sleep(interval)

    async def run(self):
        self._stopped = asyncio.Event()
        self._tasks = [asyncio.ensure_future(self._loop(i, j, n)) for i, j, n in self._jobs]
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
