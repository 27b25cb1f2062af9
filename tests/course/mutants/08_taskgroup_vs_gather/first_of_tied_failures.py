"""Mutant: all_or_nothing by hand: wait(FIRST_EXCEPTION), then a group of the first
failed task's error plus whatever the cancelled siblings raised.

It looks at one failed task only (the first in input order). When two jobs fail
at the same instant both are done when the wait returns, and the second error is
dropped from the group. Every fixed check has a single failing job (and a
sibling's cleanup error, which the group does collect), and the cancellation
sweep's jobs never fail, so every other check passes; only the property draws
two jobs failing at the same instant.

Targets: test_property_first_failing_instant
"""

import asyncio


async def _run(factory):
    return await factory()


async def all_or_nothing(factories):
    tasks = [asyncio.ensure_future(_run(f)) for f in factories]
    if not tasks:
        return []
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    failed = [t for t in tasks if t in done and t.exception() is not None]
    if not failed:
        return [t.result() for t in tasks]
    for t in pending:
        t.cancel()
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    errors = [failed[0].exception()]  # the first failure; the siblings' errors follow
    errors += [o for o in outcomes if isinstance(o, Exception)]
    raise ExceptionGroup("a job failed", errors)


async def fail_fast(factories):
    try:
        return await all_or_nothing(factories)
    except* Exception as group:
        raise group.exceptions[0] from None
