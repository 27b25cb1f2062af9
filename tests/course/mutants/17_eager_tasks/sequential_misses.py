"""Mutant: awaits each eager task as soon as it is spawned, so misses load one by one (T=3.0).

Targets: test_three_misses_take_one_second
"""

import asyncio


def spawn_eager(coro, *, name):
    return asyncio.eager_task_factory(asyncio.get_running_loop(), coro, name=name)


async def lookup_all(keys, cache, loader):
    async def lookup(key):
        if key in cache:
            return cache[key]
        value = await loader(key)
        cache[key] = value
        return value

    result = {}
    for key in dict.fromkeys(keys):
        result[key] = await spawn_eager(lookup(key), name=f"lookup:{key}")
    return result
