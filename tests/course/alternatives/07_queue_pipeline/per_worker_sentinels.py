"""Alternative: per-worker sentinels, a feeder task, and asyncio.wait as the watchdog.

The feeder sends one sentinel per first-stage worker once the source is
exhausted. A worker stops at its sentinel; the last worker of a stage to stop
sends one sentinel per worker of the next stage. Errors and cancellation are
handled by hand: wait for the first task to fail, cancel everything, await it,
close the source and re-raise.
"""

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

_STOP = object()


@dataclass(frozen=True)
class Stage:
    fn: Callable[[Any], Awaitable[Any]]
    workers: int = 1


async def run_pipeline(source, stages, *, maxsize=1):
    if not stages:
        if isinstance(source, AsyncIterable):
            return [item async for item in source]
        return list(source)
    queues = [asyncio.Queue(maxsize) for _ in stages]
    alive = [stage.workers for stage in stages]
    results = {}
    total = 0
    iterator = aiter(source) if isinstance(source, AsyncIterable) else iter(source)

    async def feeder():
        nonlocal total
        if isinstance(source, AsyncIterable):
            async for item in iterator:
                await queues[0].put((total, item))
                total += 1
        else:
            for item in iterator:
                await queues[0].put((total, item))
                total += 1
        for _ in range(stages[0].workers):
            await queues[0].put(_STOP)

    async def worker(k):
        last = k + 1 == len(stages)
        while True:
            job = await queues[k].get()
            if job is _STOP:
                break
            index, item = job
            value = await stages[k].fn(item)
            if last:
                results[index] = value
            else:
                await queues[k + 1].put((index, value))
        alive[k] -= 1
        if alive[k] == 0 and not last:
            for _ in range(stages[k + 1].workers):
                await queues[k + 1].put(_STOP)

    tasks = [asyncio.create_task(feeder())]
    tasks += [
        asyncio.create_task(worker(k)) for k, s in enumerate(stages) for _ in range(s.workers)
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if hasattr(iterator, "aclose"):
            await iterator.aclose()
        elif hasattr(iterator, "close"):
            iterator.close()
    return [results[i] for i in range(total)]
