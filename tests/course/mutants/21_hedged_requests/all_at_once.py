"""Mutant: every replica is started at once (no hedge delay): the load triples.

Targets: test_hedges_start_on_schedule, test_fast_primary_single_call
"""

import asyncio


async def hedged(call, replicas, *, hedge_delay, timeout=None):
    names = list(replicas)
    attempts = [asyncio.ensure_future(call(n)) for n in names]
    pending = set(attempts)
    try:
        async with asyncio.timeout(timeout):
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for a in sorted(done, key=attempts.index):
                    if a.exception() is None:
                        return a.result()
    finally:
        for a in pending:
            a.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    raise ExceptionGroup("all replicas failed", [a.exception() for a in attempts])
