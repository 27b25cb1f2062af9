"""Mutant: on a cancel, fetch_all_settled waits for the cancelled fetches with a plain
gather (no return_exceptions), so a fetch that had already failed re-raises its
error there and replaces the CancelledError.

A cancel that arrives before any fetch failed still propagates (the first
cancelled fetch makes that gather raise CancelledError), which is all the
fixed-time check sees: cancelled at t=0.7 s, none of its fetches fails. Only the
cancellation sweep cancels after a fetch has failed (b raises KeyError at
0.5 s; a cancel from then on comes out as that KeyError). Every other check,
the property included, passes.

Targets: test_cancellation_sweep
"""

import asyncio


async def fetch_all(fetch, keys):
    return await asyncio.gather(*(fetch(key) for key in keys))


async def fetch_all_settled(fetch, keys):
    tasks = [asyncio.ensure_future(fetch(key)) for key in keys]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks)  # meant to wait for the cleanup; re-raises a failure
        raise
    return [t.exception() if t.exception() is not None else t.result() for t in tasks]
