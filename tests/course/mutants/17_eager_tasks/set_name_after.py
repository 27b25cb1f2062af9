"""Mutant: names the task with set_name after eager creation (the first step sees "Task-N").

Targets: test_name_in_first_step
"""

import asyncio


def spawn_eager(coro, *, name):
    task = asyncio.eager_task_factory(asyncio.get_running_loop(), coro)
    task.set_name(name)
    return task


async def lookup_all(keys, cache, loader):
    async def lookup(key):
        if key in cache:
            return cache[key]
        value = await loader(key)
        cache[key] = value
        return value

    tasks = {key: spawn_eager(lookup(key), name=f"lookup:{key}") for key in dict.fromkeys(keys)}
    try:
        await asyncio.gather(*tasks.values())
    except BaseException:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    return {key: task.result() for key, task in tasks.items()}
