"""Mutant: all_or_nothing waits for every job with gather(return_exceptions=True), then
raises a group: the group arrives at t=2.0 s and the siblings were never cancelled.

Targets: test_all_or_nothing_fails_at_first_error, test_all_or_nothing_siblings_cleaned_up
"""

import asyncio


async def all_or_nothing(factories):
    results = await asyncio.gather(*(f() for f in factories), return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    if errors:
        raise ExceptionGroup("some jobs failed", errors)
    return results


async def fail_fast(factories):
    try:
        return await all_or_nothing(factories)
    except* Exception as eg:
        raise eg.exceptions[0]
