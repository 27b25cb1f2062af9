"""Mutant: first_exception as a loop over FIRST_COMPLETED that looks at only one of
the tasks that finished together (the first in input order) for an error.

When an ok job and a failing job finish at the same instant and the ok one comes
first in the dict, the failure goes unnoticed and the wait goes on until a later
job ends. The fixed check of simultaneous finishers has both of them failing, and
every other fixed scenario has one finisher per instant, so every other check
passes, the cancellation sweep included (its jobs never fail). Only the property
draws an ok and a failing job due at the same instant.

Targets: test_property_reports_match_wait
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


async def _first_exception(tasks, order, timeout):
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    pending = set(tasks)
    while pending:
        left = None if deadline is None else deadline - loop.time()
        if left is not None and left <= 0:
            return
        done, pending = await asyncio.wait(
            pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            return  # the timeout
        first = min(done, key=lambda t: order.index(t.get_name()))
        if not first.cancelled() and first.exception() is not None:
            return


async def run_and_wait(jobs, *, mode, timeout=None):
    if mode not in _MODES:
        raise ValueError(mode)
    if not jobs:
        return WaitReport({}, [])
    order = list(jobs)
    tasks = {name: asyncio.create_task(_run(f), name=name) for name, f in jobs.items()}
    try:
        if mode == "first_exception":
            await _first_exception(tasks.values(), order, timeout)
        else:
            await asyncio.wait(tasks.values(), timeout=timeout, return_when=_MODES[mode])
    finally:
        still = [t for t in tasks.values() if not t.done()]
        for t in still:
            t.cancel()
        if still:
            await asyncio.wait(still)
    done, pending = {}, []
    for name, t in tasks.items():
        if t.cancelled():
            pending.append(name)
        else:
            done[name] = t.exception() if t.exception() is not None else t.result()
    return WaitReport(done, sorted(pending))
