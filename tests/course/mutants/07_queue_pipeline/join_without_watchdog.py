"""Mutant: task_done/join shutdown with nothing watching the workers.

A crashed worker never calls task_done, so `join()` (and the feeder's `put()`)
wait forever: the pipeline hangs instead of re-raising the error.

Targets: test_stage_error_tears_down
"""

import asyncio
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any, Callable


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
            i, item = await queues[k].get()
            value = await stages[k].fn(item)
            if nxt is None:
                results[i] = value
            else:
                await nxt.put((i, value))
            queues[k].task_done()

    is_async = isinstance(source, AsyncIterable)
    it = aiter(source) if is_async else iter(source)
    workers = [asyncio.create_task(work(k)) for k, s in enumerate(stages) for _ in range(s.workers)]
    count = 0
    try:
        if is_async:
            async for item in it:
                await queues[0].put((count, item))
                count += 1
        else:
            for item in it:
                await queues[0].put((count, item))
                count += 1
        for q in queues:
            await q.join()
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if hasattr(it, "aclose"):
            await it.aclose()
    return [results[i] for i in range(count)]
