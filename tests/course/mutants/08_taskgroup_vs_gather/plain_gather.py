"""Mutant: fail_fast is plain gather, so the siblings are still running when it raises.

Targets: test_fail_fast_siblings_cleaned_up
"""

import asyncio


async def _run(factory):
    return await factory()


async def all_or_nothing(factories):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_run(f)) for f in factories]
    return [t.result() for t in tasks]


async def fail_fast(factories):
    return await asyncio.gather(*(f() for f in factories))
