"""Mutant: the cancellation is handled while the source is being fed, but not while the
pipeline drains. Once the source is exhausted (and so closed), the call waits for the
workers with a bare asyncio.wait, which does not cancel them when the caller is
cancelled: a cancel in that last phase leaves the workers running.

Errors are watched in both phases, and the fixed caller cancel (at 2.5 s) lands while
the source is still being fed; only the cancellation sweep cancels the call while it
drains. Every other check passes.

Targets: test_cancellation_sweep
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
    queues = [asyncio.Queue(maxsize) for _ in stages]
    alive = [stage.workers for stage in stages]
    results = {}
    total = 0
    is_async = isinstance(source, AsyncIterable)
    iterator = aiter(source) if is_async else iter(source)

    async def feed():
        nonlocal total
        if is_async:
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

    workers = [asyncio.create_task(worker(k)) for k, s in enumerate(stages) for _ in range(s.workers)]
    feeder = asyncio.create_task(feed())
    try:
        # Feeding: an error or a cancel stops everything and closes the source.
        while not feeder.done():
            watched = [task for task in (feeder, *workers) if not task.done()]
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()
    except BaseException:
        for task in [feeder, *workers]:
            task.cancel()
        await asyncio.gather(feeder, *workers, return_exceptions=True)
        if hasattr(iterator, "aclose"):
            await iterator.aclose()
        raise
    # Draining: the source is exhausted, the sentinels are on their way. (Not protected.)
    done, pending = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()
    return [results[i] for i in range(total)]
