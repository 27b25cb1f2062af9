"""Mutant: plain gather, no limit at all (peak 10).

Targets: test_peak_is_exactly_limit
"""

import asyncio


async def bounded_gather(factories, limit, *, return_exceptions=False):
    if limit < 1:
        raise ValueError("limit")
    return await asyncio.gather(*(f() for f in factories), return_exceptions=return_exceptions)
