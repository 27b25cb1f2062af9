"""Mutant: on an outside cancel, fail_fast cancels the jobs but waits at most 0.1 s for
their cleanup ("don't let a slow cleanup hold up the cancellation"), then lets the
CancelledError out.

With cleanups that take no time (every fixed check, and the property) the wait
ends at once with every job cleaned up, so every other check passes. Only the
cancellation sweep has a job whose cleanup takes 0.25 s: cancelled while that job
runs, fail_fast propagates the cancel 0.1 s later, with the cleanup unfinished
and the job's task still running.

Targets: test_cancellation_sweep
"""

import asyncio


async def _run(factory):
    return await factory()


async def all_or_nothing(factories):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run(f)) for f in factories]
    return [t.result() for t in tasks]


async def fail_fast(factories):
    tasks = [asyncio.ensure_future(_run(f)) for f in factories]
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for t in tasks:
            t.cancel()
        await asyncio.wait(tasks, timeout=0.1)  # a bounded wait for the cleanup
        raise
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for t in tasks:
        if t in done and not t.cancelled() and t.exception() is not None:
            raise t.exception()
    return [t.result() for t in tasks]
