"""Mutant: `all_completed` as `wait_for(gather(...), timeout)`.

On a timeout wait_for cancels the whole gather, so the jobs that had already
finished are lost: every job is reported as pending.

Targets: test_timeout_report
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
    names = list(jobs)
    tasks = [asyncio.create_task(jobs[n](), name=n) for n in names]
    if mode == "all_completed":
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True), timeout
            )
        except TimeoutError:
            return WaitReport({}, sorted(names))
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return WaitReport(dict(zip(names, results)), [])
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=_MODES[mode])
    finally:
        still = [t for t in tasks if not t.done()]
        for t in still:
            t.cancel()
        await asyncio.gather(*still, return_exceptions=True)
    done, pending = {}, []
    for n, t in zip(names, tasks):
        if t.cancelled():
            pending.append(n)
        else:
            done[n] = t.exception() or t.result()
    return WaitReport(done, sorted(pending))
