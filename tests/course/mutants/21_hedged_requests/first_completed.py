"""Mutant: the first *completed* attempt wins, even when it failed.

Targets: test_failure_is_not_a_win, test_failure_hedges_at_once
"""

import asyncio


async def hedged(call, replicas, *, hedge_delay, timeout=None):
    names = list(replicas)
    running = []
    try:
        async with asyncio.timeout(timeout):
            for i, name in enumerate(names):
                running.append(asyncio.ensure_future(call(name)))
                last = i == len(names) - 1
                done, _ = await asyncio.wait(
                    running, timeout=None if last else hedge_delay,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if done:
                    return done.pop().result()  # raises if that attempt failed
    finally:
        rest = [a for a in running if not a.done()]
        for a in rest:
            a.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
