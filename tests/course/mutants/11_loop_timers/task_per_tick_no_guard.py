"""Mutant: a new task for every tick with no overlap guard: a long job runs beside itself.

Targets: test_long_job_skips_missed_ticks
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
        self._handles = {}
        self._runs = set()
        self._stopped = None

    def every(self, interval, job, *, name):
        self._jobs.append((interval, job, name))

    async def _run_job(self, job, name):
        try:
            await job()
        except Exception as exc:
            self._on_error(name, exc)

    def _tick(self, start, k, interval, job, name):
        loop = asyncio.get_running_loop()
        self._handles[name] = loop.call_at(start + (k + 1) * interval, self._tick, start, k + 1, interval, job, name)
        task = loop.create_task(self._run_job(job, name))  # no check for a run still going
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def run(self):
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        start = loop.time()
        for interval, job, name in self._jobs:
            self._tick(start, 0, interval, job, name)
        try:
            await self._stopped.wait()
        finally:
            self.stop()
            await asyncio.gather(*list(self._runs), return_exceptions=True)

    def stop(self):
        for h in self._handles.values():
            h.cancel()
        for t in self._runs:
            t.cancel()
        if self._stopped is not None:
            self._stopped.set()
