"""Exercise 11: loop timers, a debouncer and a periodic scheduler.

Both are built on the event loop's own timers (``call_later``, ``call_soon``,
``call_at``, ``loop.time()``), not on threads or polling.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class Debouncer:
    """Call ``fn(*last_args)`` once, ``wait`` loop-seconds after the latest trigger.

    Contract (create and use it inside a running event loop):
    - ``trigger(*args)`` (sync) remembers ``args`` and restarts the wait: only
      the last trigger of a burst leads to a call, ``wait`` seconds after it.
    - ``flush()`` (sync) runs the pending call on the next loop iteration
      (``call_soon``), never inside ``flush`` itself; with nothing pending it
      does nothing.
    - ``cancel()`` (sync) drops the pending call and cancels its timer handle.
    - ``fn`` is called on the event loop's thread.
    """

    def __init__(self, fn: Callable[..., None], wait: float) -> None:
        self.fn = fn
        self.wait = wait

    def trigger(self, *args: Any) -> None:
        # TODO: cancel the pending TimerHandle, remember args, loop.call_later(...)
        raise NotImplementedError

    def flush(self) -> None:
        # TODO: move the pending call to loop.call_soon(...)
        raise NotImplementedError

    def cancel(self) -> None:
        # TODO: cancel the pending TimerHandle
        raise NotImplementedError


class PeriodicScheduler:
    """Run async jobs at a fixed rate, aligned to the start of ``run()``.

    Contract:
    - ``every(interval, job, name=...)`` registers a job (before ``run()``).
    - ``run()`` starts each job at once, then at ``start + k * interval`` in
      ``loop.time()``, where ``start`` is the loop time when ``run()`` began.
    - A job never overlaps itself: a tick that finds its previous run still
      running is skipped (never queued or run late). A run that ends exactly
      on a tick lets that tick start.
    - A run's exception goes to ``on_error(name, exc)``; the schedule goes on.
    - ``stop()`` (sync) cancels the runs in flight; ``run()`` awaits their
      cleanup and then returns normally.
    """

    def __init__(self, *, on_error: Callable[[str, BaseException], None]) -> None:
        self.on_error = on_error

    def every(self, interval: float, job: Callable[[], Awaitable[None]], *, name: str) -> None:
        # TODO: register the job
        raise NotImplementedError

    async def run(self) -> None:
        # TODO: chain loop.call_at ticks on the grid start + k * interval
        raise NotImplementedError

    def stop(self) -> None:
        # TODO: cancel ticks and runs in flight, and let run() return
        raise NotImplementedError
