"""Mutant: one sentinel per stage instead of one per worker.

The worker that gets the sentinel forwards it and stops; its sibling waits
forever for an item that never comes (and the next stage may stop too early).

Targets: test_two_worker_stage_takes_nine_seconds, test_backpressure
"""

import asyncio
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any, Callable

DONE = object()


@dataclass(frozen=True)
class Stage:
    fn: Callable[[Any], Any]
    workers: int = 1


async def run_pipeline(source, stages, *, maxsize=1):
    queues = [asyncio.Queue(maxsize) for _ in stages]
    results = {}

    async def work(k):
        nxt = queues[k + 1] if k + 1 < len(queues) else None
        while True:
            job = await queues[k].get()
            if job is DONE:
                if nxt is not None:
                    await nxt.put(DONE)  # the bug: one sentinel, whatever the worker count
                return
            i, item = job
            value = await stages[k].fn(item)
            if nxt is None:
                results[i] = value
            else:
                await nxt.put((i, value))

    is_async = isinstance(source, AsyncIterable)
    it = aiter(source) if is_async else iter(source)
    count = 0
    try:
        async with asyncio.TaskGroup() as tg:
            for k, s in enumerate(stages):
                for _ in range(s.workers):
                    tg.create_task(work(k))
            try:
                if is_async:
                    async for item in it:
                        await queues[0].put((count, item))
                        count += 1
                else:
                    for item in it:
                        await queues[0].put((count, item))
                        count += 1
            finally:
                if hasattr(it, "aclose"):
                    await it.aclose()
            await queues[0].put(DONE)
    except BaseExceptionGroup as eg:
        raise eg.exceptions[0] from None
    return [results.get(i) for i in range(count)]
