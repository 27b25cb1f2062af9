"""Mutant: results appended in the order the last stage finishes them, not in source order.

Targets: test_output_in_source_order
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
    results = []

    async def work(k):
        nxt = queues[k + 1] if k + 1 < len(queues) else None
        while True:
            item = await queues[k].get()
            value = await stages[k].fn(item)
            if nxt is None:
                results.append(value)  # the bug: completion order
            else:
                await nxt.put(value)
            queues[k].task_done()

    is_async = isinstance(source, AsyncIterable)
    it = aiter(source) if is_async else iter(source)
    try:
        async with asyncio.TaskGroup() as tg:
            workers = [tg.create_task(work(k)) for k, s in enumerate(stages) for _ in range(s.workers)]
            try:
                if is_async:
                    async for item in it:
                        await queues[0].put(item)
                else:
                    for item in it:
                        await queues[0].put(item)
            finally:
                if hasattr(it, "aclose"):
                    await it.aclose()
            for q in queues:
                await q.join()
            for w in workers:
                w.cancel()
    except BaseExceptionGroup as eg:
        raise eg.exceptions[0] from None
    return results
