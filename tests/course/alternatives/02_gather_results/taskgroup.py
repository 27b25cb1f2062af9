"""Alternative: a TaskGroup; fetch_all unwraps the group's first error, settled wraps each fetch.

fetch_all cancels the other fetches when one fails (the open choice allows it).
"""

import asyncio


async def fetch_all(fetch, keys):
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(fetch(key)) for key in keys]
    except ExceptionGroup as group:
        raise group.exceptions[0] from None
    return [task.result() for task in tasks]


async def fetch_all_settled(fetch, keys):
    async def settle(key):
        try:
            return await fetch(key)
        except Exception as exc:  # never BaseException: a cancel must propagate
            return exc

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(settle(key)) for key in keys]
    return [task.result() for task in tasks]
