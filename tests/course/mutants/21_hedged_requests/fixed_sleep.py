"""Mutant: waits a fixed hedge_delay between starts, ignoring failures (T=1.2 where 0.8 is correct).

A success still wins at once; a failure does not shorten the wait for the next start.

Targets: test_failure_hedges_at_once, test_all_fail_fast
"""

import asyncio


async def hedged(call, replicas, *, hedge_delay, timeout=None):
    names = list(replicas)
    loop = asyncio.get_running_loop()
    attempts = []
    try:
        async with asyncio.timeout(timeout):
            for i, name in enumerate(names):
                attempts.append(asyncio.ensure_future(call(name)))
                next_start = loop.time() + hedge_delay
                last = i == len(names) - 1
                while True:
                    pending = [a for a in attempts if not a.done()]
                    remaining = None if last else next_start - loop.time()
                    if not pending:
                        if remaining is not None and remaining > 0:
                            await asyncio.sleep(remaining)  # the failure is ignored
                        break
                    if remaining is not None and remaining <= 0:
                        break
                    done, _ = await asyncio.wait(
                        pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                    for a in done:
                        if a.exception() is None:
                            return a.result()
                    if not done:
                        break
    finally:
        rest = [a for a in attempts if not a.done()]
        for a in rest:
            a.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
    raise ExceptionGroup("all replicas failed", [a.exception() for a in attempts])
