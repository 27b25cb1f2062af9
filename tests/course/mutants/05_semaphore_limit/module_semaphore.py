"""Mutant: one Semaphore at module level, shared by every call (and every loop).

Targets: test_two_calls_each_get_their_own_limit
"""

import asyncio

_SEM = None


async def bounded_gather(factories, limit, *, return_exceptions=False):
    global _SEM
    if limit < 1:
        raise ValueError("limit")
    if _SEM is None:
        _SEM = asyncio.Semaphore(limit)
    jobs = list(factories)
    results = [None] * len(jobs)

    async def run(i, factory):
        async with _SEM:
            try:
                results[i] = await factory()
            except Exception as exc:
                if not return_exceptions:
                    raise
                results[i] = exc

    try:
        async with asyncio.TaskGroup() as tg:
            for i, f in enumerate(jobs):
                tg.create_task(run(i, f))
    except ExceptionGroup as eg:
        raise eg.exceptions[0] from None
    return results
