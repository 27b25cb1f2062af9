"""Mutant: unbounded `asyncio.Queue()` between stages, so the feeder drains the whole source at once.

Targets: test_backpressure
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
    queues = [asyncio.Queue() for _ in stages]  # the bug: maxsize ignored
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
    count = 0
    try:
        async with asyncio.TaskGroup() as tg:
            workers = [tg.create_task(work(k)) for k, s in enumerate(stages) for _ in range(s.workers)]
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
            for q in queues:
                await q.join()
            for w in workers:
                w.cancel()
    except BaseExceptionGroup as eg:
        raise eg.exceptions[0] from None
    return [results[i] for i in range(count)]
