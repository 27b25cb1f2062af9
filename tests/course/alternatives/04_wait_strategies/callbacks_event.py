"""Alternative: done-callbacks set an Event when the mode's condition holds.

The timeout comes from asyncio.timeout() around the Event wait; cleanup
cancels and gathers whatever still runs, on every exit path.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

MODES = ("first_completed", "first_exception", "all_completed")


@dataclass
class WaitReport:
    done: dict[str, Any]
    pending: list[str]


async def run_and_wait(jobs, *, mode, timeout=None):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if not jobs:
        return WaitReport(done={}, pending=[])

    finished = asyncio.Event()
    tasks = {}

    def on_done(task):
        failed = not task.cancelled() and task.exception() is not None
        if (
            mode == "first_completed"
            or (mode == "first_exception" and failed)
            or all(t.done() for t in tasks.values())
        ):
            finished.set()

    async def run(factory):
        return await factory()

    for name, factory in jobs.items():
        tasks[name] = asyncio.create_task(run(factory), name=name)
        tasks[name].add_done_callback(on_done)

    try:
        try:
            async with asyncio.timeout(timeout):
                await finished.wait()
        except TimeoutError:
            pass  # a timeout is not an error
        running = {name for name, t in tasks.items() if not t.done()}
    finally:
        leftovers = [t for t in tasks.values() if not t.done()]
        for t in leftovers:
            t.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    done = {}
    for name, t in tasks.items():
        if name not in running:
            done[name] = t.exception() if t.exception() is not None else t.result()
    return WaitReport(done=done, pending=sorted(running))
