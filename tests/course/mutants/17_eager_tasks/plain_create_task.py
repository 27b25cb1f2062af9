"""Mutant: plain create_task, so the first step only runs on the next loop iteration.

Targets: test_child_runs_before_parent_continues, test_non_suspending_task_done_at_once, test_hits_read_in_same_iteration, test_first_step_exception_stored, test_cancel_on_finished_returns_false
"""

import asyncio


def spawn_eager(coro, *, name):
    return asyncio.get_running_loop().create_task(coro, name=name)


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
