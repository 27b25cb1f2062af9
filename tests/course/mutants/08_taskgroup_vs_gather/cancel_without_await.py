"""Mutant: fail_fast cancels the other tasks but never awaits them.

It raises (or lets the caller's cancel out) while the cancelled jobs have not run
their `finally` yet; they catch up a loop cycle later, so no task is left pending.

Targets: test_fail_fast_siblings_cleaned_up, test_fail_fast_caller_cancel
"""

import asyncio


async def _run(factory):
    return await factory()


async def all_or_nothing(factories):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run(f)) for f in factories]
    return [t.result() for t in tasks]


async def fail_fast(factories):
    tasks = [asyncio.ensure_future(f()) for f in factories]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for t in tasks:
            t.cancel()  # only a request: nobody waits for the cleanup
    for t in tasks:
        if t in done and not t.cancelled() and t.exception() is not None:
            raise t.exception()
    return [t.result() for t in tasks]
