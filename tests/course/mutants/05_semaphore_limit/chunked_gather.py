"""Mutant: gathers fixed batches of `limit` jobs (T=4.0 instead of 3.0 on [3, 1, 1, 1, 1, 1]).

Targets: test_slot_frees_immediately
"""

import asyncio


async def bounded_gather(factories, limit, *, return_exceptions=False):
    if limit < 1:
        raise ValueError("limit")
    jobs = list(factories)
    results = []
    for i in range(0, len(jobs), limit):
        batch = [asyncio.ensure_future(f()) for f in jobs[i : i + limit]]
        try:
            results += await asyncio.gather(*batch, return_exceptions=return_exceptions)
        except BaseException:
            for t in batch:
                t.cancel()
            await asyncio.gather(*batch, return_exceptions=True)
            raise
    return results
