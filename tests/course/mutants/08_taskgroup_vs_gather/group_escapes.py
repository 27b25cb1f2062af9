"""Mutant: fail_fast lets the TaskGroup's ExceptionGroup escape instead of the bare error.

Targets: test_fail_fast_raises_bare_error, test_fail_fast_keeps_first_error
"""

import asyncio


async def _run(factory):
    return await factory()


async def all_or_nothing(factories):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run(f)) for f in factories]
    return [t.result() for t in tasks]


async def fail_fast(factories):
    return await all_or_nothing(factories)
