"""Alternative: asyncio.Task(..., eager_start=True) with an explicit loop, and a wait() loop
that stores each value in the parent as it arrives."""

import asyncio


def spawn_eager(coro, *, name):
    # loop= is needed: without it, 3.12.1 fails inside the eager first step.
    return asyncio.Task(coro, loop=asyncio.get_running_loop(), name=name, eager_start=True)


async def lookup_all(keys, cache, loader):
    async def lookup(key):
        value = cache.get(key)
        if value is not None:
            return value
        return await loader(key)

    tasks = {spawn_eager(lookup(key), name=f"lookup:{key}"): key for key in dict.fromkeys(keys)}
    result = {}
    pending = set(tasks)
    try:
        while pending:
            done = {t for t in pending if t.done()}
            if not done:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                key = tasks[task]
                result[key] = task.result()
                cache.setdefault(key, result[key])
            pending -= done
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
    return {key: result[key] for key in tasks.values()}
