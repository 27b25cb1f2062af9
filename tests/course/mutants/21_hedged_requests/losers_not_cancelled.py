"""Mutant: returns the winner but leaves the losing attempts running.

Targets: test_losers_cancelled_before_return
"""

import asyncio


async def hedged(call, replicas, *, hedge_delay, timeout=None):
    names = list(replicas)
    loop = asyncio.get_running_loop()
    position = {}
    running = set()
    errors = [None] * len(names)
    hedge_at = loop.time()

    def launch():
        nonlocal hedge_at
        a = asyncio.ensure_future(call(names[len(position)]))
        position[a] = len(position)
        running.add(a)
        hedge_at = loop.time() + hedge_delay

    try:
        async with asyncio.timeout(timeout):
            launch()
            while running:
                more = len(position) < len(names)
                wait = max(0.0, hedge_at - loop.time()) if more else None
                done, _ = await asyncio.wait(running, timeout=wait,
                                             return_when=asyncio.FIRST_COMPLETED)
                running.difference_update(done)
                for a in sorted(done, key=position.__getitem__):
                    if a.exception() is None:
                        return a.result()  # the losers keep running
                    errors[position[a]] = a.exception()
                for _ in range(len(done) or 1):
                    if len(position) < len(names):
                        launch()
    except BaseException:
        for a in running:
            a.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise
    raise ExceptionGroup("all replicas failed", errors)
