"""Alternative: a staggered race in a TaskGroup.

Each attempt starts the next one's countdown as it begins: the next attempt
waits for this one's failure Event, or for hedge_delay, whichever comes first.
A success raises a private exception that makes the TaskGroup cancel (and
await) every other attempt.
"""

import asyncio
import contextlib


class _Won(Exception):
    """Raised by the winning attempt to stop the race."""


async def hedged(call, replicas, *, hedge_delay, timeout=None):
    names = list(replicas)
    if not names:
        raise ValueError("no replicas")
    errors = [None] * len(names)
    winner = []

    async def attempt(tg, i, previous_failed):
        if previous_failed is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(hedge_delay):
                    await previous_failed.wait()
        failed = asyncio.Event()
        if i + 1 < len(names):
            tg.create_task(attempt(tg, i + 1, failed))
        try:
            value = await call(names[i])
        except Exception as exc:
            errors[i] = exc
            failed.set()
            return
        winner.append(value)
        raise _Won

    try:
        async with asyncio.timeout(timeout):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(attempt(tg, 0, None))
    except* _Won:
        pass
    if winner:
        return winner[0]
    raise ExceptionGroup(f"all {len(names)} replicas failed", errors)
