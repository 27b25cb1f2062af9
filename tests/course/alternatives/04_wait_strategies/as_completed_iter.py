"""Alternative: walk the jobs in completion order with asyncio.as_completed.

On 3.13+ `async for` over as_completed yields the very tasks; before that
(guarded) the classic `for ... in as_completed(...)` yields awaitables, and the
finished tasks are found by looking at which are done.
"""

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from typing import Any

MODES = ("first_completed", "first_exception", "all_completed")


@dataclass
class WaitReport:
    done: dict[str, Any]
    pending: list[str]


def _failed(task):
    return not task.cancelled() and task.exception() is not None


async def _walk(tasks, mode, timeout):
    """Return when the mode's condition holds; TimeoutError when the timeout hits first."""
    if sys.version_info >= (3, 13):
        async for task in asyncio.as_completed(tasks, timeout=timeout):
            if mode == "first_completed" or (mode == "first_exception" and _failed(task)):
                return
    else:
        for next_done in asyncio.as_completed(tasks, timeout=timeout):
            try:
                await next_done
            except TimeoutError:
                raise
            except Exception:
                if mode == "first_exception":
                    return
            if mode == "first_completed":
                return


async def run_and_wait(jobs, *, mode, timeout=None):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if not jobs:
        return WaitReport({}, [])

    async def run(factory):
        return await factory()

    tasks = {name: asyncio.create_task(run(f), name=name) for name, f in jobs.items()}
    try:
        with contextlib.suppress(TimeoutError):  # a timeout is not an error
            await _walk(list(tasks.values()), mode, timeout)
        still = sorted(name for name, t in tasks.items() if not t.done())
    finally:
        leftovers = [t for t in tasks.values() if not t.done()]
        for t in leftovers:
            t.cancel()
        if leftovers:
            await asyncio.wait(leftovers)
    done = {
        name: (t.exception() if _failed(t) else t.result())
        for name, t in tasks.items()
        if name not in still
    }
    return WaitReport(done, still)
