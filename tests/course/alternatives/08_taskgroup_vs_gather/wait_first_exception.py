"""Alternative: fail_fast with wait(FIRST_EXCEPTION), then cancel, then
gather(return_exceptions=True) to wait for the cleanup (and retrieve its errors)."""

import asyncio


async def _run(factory):
    return await factory()


async def all_or_nothing(factories):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run(f)) for f in factories]
    return [t.result() for t in tasks]


async def fail_fast(factories):
    tasks = [asyncio.ensure_future(f()) for f in factories]
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        # A failure, or a cancel of the caller: stop everything still running and
        # wait until it has cleaned up. return_exceptions=True retrieves the
        # siblings' own (cleanup) errors so none is logged as never retrieved.
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for t in tasks:
        if t in done and not t.cancelled() and t.exception() is not None:
            raise t.exception()
    return [t.result() for t in tasks]
