"""Alternative: `limit` workers pulling (index, factory) pairs from one shared iterator."""

import asyncio


async def bounded_gather(factories, limit, *, return_exceptions=False):
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    jobs = list(factories)
    results = [None] * len(jobs)
    pending = iter(enumerate(jobs))

    async def worker():
        for i, factory in pending:
            try:
                results[i] = await factory()
            except Exception as exc:
                if not return_exceptions:
                    raise
                results[i] = exc

    workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(jobs)))]
    try:
        done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        for w in done:
            if not w.cancelled() and w.exception() is not None:
                raise w.exception()
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return results
