"""Mutant: the total deadline is only checked between attempts (and caps the sleeps),
so an attempt running when it passes is not interrupted.

Targets: test_total_timeout_mid_attempt
"""

import asyncio


async def retry(
    fn,
    *,
    attempts,
    base_delay,
    factor=2.0,
    max_delay=float("inf"),
    jitter=lambda d: d,
    retry_on=(Exception,),
    attempt_timeout=None,
    total_timeout=None,
):
    loop = asyncio.get_running_loop()
    deadline = None if total_timeout is None else loop.time() + total_timeout
    for k in range(1, attempts + 1):
        if deadline is not None and loop.time() >= deadline:
            raise TimeoutError("total timeout")
        try:
            async with asyncio.timeout(attempt_timeout):
                return await fn()
        except Exception as exc:
            if not isinstance(exc, (retry_on, TimeoutError)) or k == attempts:
                raise
        delay = jitter(min(max_delay, base_delay * factor ** (k - 1)))
        if deadline is not None and loop.time() + delay >= deadline:
            await asyncio.sleep(deadline - loop.time())
            raise TimeoutError("total timeout")
        await asyncio.sleep(delay)
