"""Alternative: a recursive form, asyncio.timeout_at for the total deadline and
asyncio.wait_for for each attempt."""

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

    async def attempt(k):
        try:
            if attempt_timeout is None:
                return await fn()
            return await asyncio.wait_for(fn(), attempt_timeout)
        except Exception as exc:
            timed_out = attempt_timeout is not None and isinstance(exc, TimeoutError)
            if k >= attempts or not (timed_out or isinstance(exc, retry_on)):
                raise
        await asyncio.sleep(jitter(min(max_delay, base_delay * factor ** (k - 1))))
        return await attempt(k + 1)

    async with asyncio.timeout_at(deadline):
        return await attempt(1)
