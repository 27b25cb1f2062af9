"""Reference solution for exercise 11: a call_later debouncer and a call_at-chained scheduler."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


class Debouncer:
    """Call ``fn(*last_args)`` once, ``wait`` loop-seconds after the latest trigger."""

    def __init__(self, fn: Callable[..., None], wait: float) -> None:
        self._fn = fn
        self._wait = wait
        self._args: tuple[Any, ...] = ()
        # The pending call: a TimerHandle (call_later) or, after flush, a Handle (call_soon).
        self._handle: asyncio.Handle | None = None

    def trigger(self, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        if self._handle is not None:
            self._handle.cancel()  # the latest trigger restarts the wait
        self._args = args
        self._handle = loop.call_later(self._wait, self._fire)

    def flush(self) -> None:
        if self._handle is None:
            return  # nothing pending: nothing to flush
        self._handle.cancel()
        # On the next loop iteration, never inside flush() itself.
        self._handle = asyncio.get_running_loop().call_soon(self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._args = ()

    def _fire(self) -> None:
        self._handle = None
        args, self._args = self._args, ()
        self._fn(*args)


@dataclass
class _Entry:
    name: str
    interval: float
    job: Callable[[], Awaitable[None]]
    run: asyncio.Task[None] | None = None  # the run in flight, if any
    handle: asyncio.TimerHandle | None = None  # the next tick
    missed_at: float | None = None  # loop time of a tick that found the run still going


class PeriodicScheduler:
    """Fixed-rate jobs aligned to the start of ``run()``; a job never overlaps itself."""

    def __init__(self, *, on_error: Callable[[str, BaseException], None]) -> None:
        self._on_error = on_error
        self._entries: list[_Entry] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._stopping = False

    def every(self, interval: float, job: Callable[[], Awaitable[None]], *, name: str) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self._entries.append(_Entry(name, interval, job))

    async def run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._stopping = False
        start = loop.time()
        for entry in self._entries:
            self._tick(entry, start, 0)  # tick 0 is the start of run() itself
        try:
            await self._stopped.wait()
        finally:
            self._halt()
            runs = [e.run for e in self._entries if e.run is not None]
            # Await the cancelled runs' cleanup before returning.
            await asyncio.gather(*runs, return_exceptions=True)
            for entry in self._entries:
                entry.run = None

    def stop(self) -> None:
        self._halt()
        if self._stopped is not None:
            self._stopped.set()

    # -- internals ----------------------------------------------------------
    def _halt(self) -> None:
        """Cancel every pending tick and every run in flight (idempotent)."""
        self._stopping = True
        for entry in self._entries:
            if entry.handle is not None:
                entry.handle.cancel()
                entry.handle = None
            if entry.run is not None:
                entry.run.cancel()

    def _tick(self, entry: _Entry, start: float, k: int) -> None:
        assert self._loop is not None
        # Chain the next tick on the fixed grid start + k * interval: computed from
        # the start, never from "now", so the schedule cannot drift.
        entry.handle = self._loop.call_at(
            start + (k + 1) * entry.interval, self._tick, entry, start, k + 1
        )
        if entry.run is not None and not entry.run.done():
            # Still running: this tick is missed (skipped, never queued), unless the
            # run turns out to end at this very instant (see _finished).
            entry.missed_at = self._loop.time()
        else:
            self._launch(entry)

    def _launch(self, entry: _Entry) -> None:
        assert self._loop is not None
        entry.missed_at = None
        entry.run = self._loop.create_task(self._run_job(entry), name=f"job {entry.name}")
        entry.run.add_done_callback(functools.partial(self._finished, entry))

    async def _run_job(self, entry: _Entry) -> None:
        try:
            await entry.job()
        except Exception as exc:
            # Errors go to on_error; the schedule carries on.
            self._on_error(entry.name, exc)

    def _finished(self, entry: _Entry, run: asyncio.Task[None]) -> None:
        assert self._loop is not None
        if entry.run is not run:
            return
        entry.run = None
        # The tick callback and the run's end can fall on the same instant; the tick
        # then sees a run that is about to finish. A run that ends exactly on a tick
        # lets that tick start.
        if not self._stopping and entry.missed_at == self._loop.time():
            self._launch(entry)
