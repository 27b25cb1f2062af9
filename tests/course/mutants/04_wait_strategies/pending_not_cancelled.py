"""Mutant: reports the pending jobs but never cancels them; they keep running.

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
    await asyncio.wait(tasks.values(), timeout=timeout, return_when=_MODES[mode])
    done, pending = {}, []
    for name, t in tasks.items():
        if not t.done():
            pending.append(name)
        else:
            done[name] = t.exception() or t.result()
    return WaitReport(done, sorted(pending))
