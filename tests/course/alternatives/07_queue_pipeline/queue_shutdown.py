"""Alternative: `Queue.shutdown()` (Python 3.13+) ends each stage; sentinels before 3.13.

Behind a guard: on 3.13 a finished stage shuts its successor's queue down and
the workers there stop on QueueShutDown once it is empty; on older versions
the same "close the inbox" step puts one sentinel per worker instead.
Stage-runner tasks in a TaskGroup do the watching.
"""

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

HAS_SHUTDOWN = hasattr(asyncio.Queue, "shutdown")
_STOP = object()


@dataclass(frozen=True)
class Stage:
    fn: Callable[[Any], Awaitable[Any]]
    workers: int = 1


class _Closed(Exception):
    pass


async def _get(queue):
    if HAS_SHUTDOWN:
        try:
            return await queue.get()
        except asyncio.QueueShutDown:
            raise _Closed from None
    job = await queue.get()
    if job is _STOP:
        raise _Closed
    return job


async def _close_inbox(queue, workers):
    if HAS_SHUTDOWN:
        queue.shutdown()  # pending items are still delivered, then get() raises
    else:
        for _ in range(workers):
            await queue.put(_STOP)


async def run_pipeline(source, stages, *, maxsize=1):
    queues = [asyncio.Queue(maxsize) for _ in stages]
    results = {}
    count = 0
    iterator = aiter(source) if isinstance(source, AsyncIterable) else iter(source)

    async def feed(item):
        nonlocal count
        if queues:
            await queues[0].put((count, item))
        else:
            results[count] = item
        count += 1

    async def worker(k):
        last = k + 1 == len(stages)
        while True:
            try:
                index, item = await _get(queues[k])
            except _Closed:
                return
            value = await stages[k].fn(item)
            if last:
                results[index] = value
            else:
                await queues[k + 1].put((index, value))

    async def run_stage(k):
        async with asyncio.TaskGroup() as tg:
            for _ in range(stages[k].workers):
                tg.create_task(worker(k))
        if k + 1 < len(stages):
            await _close_inbox(queues[k + 1], stages[k + 1].workers)

    try:
        async with asyncio.TaskGroup() as tg:
            for k in range(len(stages)):
                tg.create_task(run_stage(k))
            try:
                if isinstance(source, AsyncIterable):
                    async for item in iterator:
                        await feed(item)
                else:
                    for item in iterator:
                        await feed(item)
            finally:
                if hasattr(iterator, "aclose"):
                    await iterator.aclose()
            if queues:
                await _close_inbox(queues[0], stages[0].workers)
    except BaseExceptionGroup as group:
        exc = group
        while isinstance(exc, BaseExceptionGroup):
            exc = exc.exceptions[0]
        raise exc from None
    return [results[i] for i in range(count)]
