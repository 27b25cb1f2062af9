"""Mutant: cancels the pending jobs but returns without awaiting the cancellations.

Their `finally` blocks run only after run_and_wait has returned.

Targets: test_pending_cleanup_before_return
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


async def run_and_wait(jobs, *, mode, timeout=None):
    if mode not in _MODES:
        raise ValueError(mode)
    if not jobs:
        return WaitReport({}, [])
    tasks = {name: asyncio.create_task(f(), name=name) for name, f in jobs.items()}
    try:
        await asyncio.wait(tasks.values(), timeout=timeout, return_when=_MODES[mode])
    finally:
        for t in tasks.values():
            t.cancel()  # no-op on finished tasks; never awaited
    done, pending = {}, []
    for name, t in tasks.items():
        if not t.done():
            pending.append(name)
        else:
            done[name] = t.exception() or t.result()
    return WaitReport(done, sorted(pending))
