"""Mutant: only the all_completed branch cancels the jobs when the caller is cancelled.

The try/finally that cancels and awaits what is still running was written for
all_completed; the first_completed/first_exception branch cleans up only after a
normal return, so a cancel of the caller while it waits leaves every job running.

The fixed check cancels the caller in all_completed mode (t=0.2 s), and every
return path cleans up, so every other check passes, the property included (it
never cancels). Only the cancellation sweep cancels during a first_completed and
a first_exception wait.

Targets: test_cancellation_sweep
"""

import asyncio
from dataclasses import dataclass
from typing import Any

_MODES = {
    "first_completed": asyncio.FIRST_COMPLETED,
    "first_exception": asyncio.FIRST_EXCEPTION,
    "all_completed": asyncio.ALL_COMPLETED,
}


@dataclass
class WaitReport:
    done: dict[str, Any]
    pending: list[str]


async def _run(factory):
    return await factory()


async def _cancel_and_wait(tasks):
    still = [t for t in tasks if not t.done()]
    for t in still:
        t.cancel()
    if still:
        await asyncio.wait(still)


async def run_and_wait(jobs, *, mode, timeout=None):
    if mode not in _MODES:
        raise ValueError(mode)
    if not jobs:
        return WaitReport({}, [])
    tasks = {name: asyncio.create_task(_run(f), name=name) for name, f in jobs.items()}
    if mode == "all_completed":
        try:
            await asyncio.wait(tasks.values(), timeout=timeout)
        finally:
            await _cancel_and_wait(tasks.values())
    else:
        await asyncio.wait(tasks.values(), timeout=timeout, return_when=_MODES[mode])
        await _cancel_and_wait(tasks.values())
    done, pending = {}, []
    for name, t in tasks.items():
        if t.cancelled():
            pending.append(name)
        else:
            done[name] = t.exception() if t.exception() is not None else t.result()
    return WaitReport(done, sorted(pending))
