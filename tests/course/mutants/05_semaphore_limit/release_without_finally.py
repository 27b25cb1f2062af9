"""Mutant: acquire/release without `finally`, so a failed job never frees its slot.

With return_exceptions=True the remaining jobs wait forever: a deadlock.

Targets: test_return_exceptions_frees_slot
"""

import asyncio


async def bounded_gather(factories, limit, *, return_exceptions=False):
    if limit < 1:
        raise ValueError("limit")
    sem = asyncio.Semaphore(limit)
    jobs = list(factories)
    results = [None] * len(jobs)

    async def run(i, factory):
        await sem.acquire()
        try:
            results[i] = await factory()
            sem.release()
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
