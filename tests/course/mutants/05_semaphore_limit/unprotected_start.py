"""Mutant: starts every job, then yields once before entering the try/finally
that cancels them. A cancel that lands in that first suspension (t=0) leaves
every job running; a cancel at any later instant is handled correctly, so
only the cancellation sweep sees it.

Targets: test_cancellation_sweep
"""

import asyncio


async def bounded_gather(factories, limit, *, return_exceptions=False):
    if limit < 1:
        raise ValueError("limit")
    sem = asyncio.Semaphore(limit)
    jobs = list(factories)
    results = [None] * len(jobs)

    async def run(i, factory):
        async with sem:
            try:
                results[i] = await factory()
            except Exception as exc:
                if not return_exceptions:
                    raise
                results[i] = exc

    tasks = [asyncio.ensure_future(run(i, f)) for i, f in enumerate(jobs)]
    await asyncio.sleep(0)  # "let them start" -- outside the protection below
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return results
