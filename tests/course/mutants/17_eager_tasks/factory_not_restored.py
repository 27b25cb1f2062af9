"""Mutant: installs eager_task_factory on the loop and never restores the old factory.

Targets: test_task_factory_untouched
"""

import asyncio


def spawn_eager(coro, *, name):
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    return loop.create_task(coro, name=name)


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
