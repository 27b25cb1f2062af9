"""Mutant: the settling wrapper catches BaseException, so the caller's cancel becomes a value.

The caller waits on the first task; the cancel goes into it, the wrapper
returns the CancelledError as a result, and the caller carries on: the call
returns a list at t=3.0 instead of raising CancelledError at t=0.7, and the
other fetches are never cancelled.

(A gather or a TaskGroup around the same wrapper still propagates the cancel:
both re-raise it once their children finish.)

Targets: test_cancelling_the_caller_cancels_every_fetch
"""

import asyncio


async def fetch_all(fetch, keys):
    return await asyncio.gather(*(fetch(key) for key in keys))


async def fetch_all_settled(fetch, keys):
    async def settle(key):
        try:
            return await fetch(key)
        except BaseException as exc:  # also catches CancelledError
            return exc

    tasks = [asyncio.ensure_future(settle(key)) for key in keys]
    return [await task for task in tasks]
