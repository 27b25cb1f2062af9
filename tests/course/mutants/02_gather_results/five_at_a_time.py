"""Mutant: "be gentle with the server": at most five fetches run at once (a
Semaphore the spec does not ask for). With five keys or fewer it is gather; a
sixth key waits for a free slot.

Every other check (the cancellation sweep included) uses at most five keys per
call, so all of them pass; only the property draws six or more keys and sees a
fetch start late (or the call take longer than its slowest fetch).

Targets: test_property_every_fetch_at_once
"""

import asyncio


async def _limited(sem, fetch, key):
    async with sem:
        return await fetch(key)


async def fetch_all(fetch, keys):
    sem = asyncio.Semaphore(5)
    return await asyncio.gather(*(_limited(sem, fetch, key) for key in keys))


async def fetch_all_settled(fetch, keys):
    sem = asyncio.Semaphore(5)
    return await asyncio.gather(
        *(_limited(sem, fetch, key) for key in keys), return_exceptions=True
    )
