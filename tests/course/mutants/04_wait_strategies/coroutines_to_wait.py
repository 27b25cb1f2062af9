"""Mutant: passes the jobs' coroutines straight to `asyncio.wait` (a TypeError on 3.11+).

Targets: test_first_completed_report, test_all_completed_report, test_all_completed_time
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
    coros = {name: factory() for name, factory in jobs.items()}
    done, pending = await asyncio.wait(coros.values(), timeout=timeout, return_when=_MODES[mode])
    for t in pending:
        t.cancel()
    return WaitReport(
        {n: (t.exception() or t.result()) for n, t in zip(coros, done)}, sorted(coros)
    )
