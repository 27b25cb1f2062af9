"""Mutant: awaits each job in turn (T=10 for ten 1-second jobs).

Targets: test_ten_jobs_take_four_seconds, test_slot_frees_immediately
"""

import asyncio


async def bounded_gather(factories, limit, *, return_exceptions=False):
    if limit < 1:
        raise ValueError("limit")
    results = []
    for factory in factories:
        try:
            results.append(await factory())
        except Exception as exc:
            if not return_exceptions:
                raise
            results.append(exc)
    return results
