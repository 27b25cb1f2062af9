"""Mutant: each queue gets maxsize slots per worker that puts into it (the feeder for
the first queue, stage k's workers for the next), "so that no producer ever waits".
Behind a stage with several workers, a queue then holds more than maxsize items and
more items are pulled from the source than the backpressure bound allows.

The fixed backpressure check has a single worker before its only inner queue; only
the property over pipelines puts a multi-worker stage before another stage. Every
other check passes.

Targets: test_pipelines_keep_order_and_bounds
"""

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: ``workers`` tasks each apply ``fn`` to items."""

    fn: Callable[[Any], Awaitable[Any]]
    workers: int = 1


async def _close(iterator: object) -> None:
    """Close a generator so its ``finally`` runs now (a no-op once it is exhausted)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


async def run_pipeline(
    source: Iterable[Any] | AsyncIterable[Any],
    stages: Sequence[Stage],
    *,
    maxsize: int = 1,
) -> list[Any]:
    """Push every item of ``source`` through ``stages`` (see the stub for the contract)."""
    if maxsize < 1:
        raise ValueError(f"maxsize must be at least 1, not {maxsize}")
    if any(stage.workers < 1 for stage in stages):
        raise ValueError("every stage needs at least one worker")
    # The bug: one slot per worker that puts into the queue ("so no producer waits"),
    # instead of maxsize slots whatever the number of producers.
    producers = [1] + [stage.workers for stage in stages[:-1]]
    queues: list[asyncio.Queue[tuple[int, Any]]] = [asyncio.Queue(maxsize * p) for p in producers]
    results: dict[int, Any] = {}

    async def work(k: int) -> None:
        inbox, fn = queues[k], stages[k].fn
        outbox = queues[k + 1] if k + 1 < len(queues) else None
        while True:
            index, item = await inbox.get()
            value = await fn(item)
            if outbox is None:
                results[index] = value
            else:
                await outbox.put((index, value))  # waits for room downstream
            inbox.task_done()  # only now is the item really through this stage

    count = 0

    async def feed(item: Any) -> None:
        nonlocal count
        if queues:
            await queues[0].put((count, item))  # waits for room: this is the backpressure
        else:
            results[count] = item  # no stages: the pipeline is the identity
        count += 1

    # One iterator, pulled one item at a time and closed at the end.
    async_items = aiter(source) if isinstance(source, AsyncIterable) else None
    sync_items = iter(source) if not isinstance(source, AsyncIterable) else None
    try:
        async with asyncio.TaskGroup() as tg:
            workers = [
                tg.create_task(work(k), name=f"stage{k}-worker{w}")
                for k, stage in enumerate(stages)
                for w in range(stage.workers)
            ]
            try:
                # The caller's task is the feeder: one item pulled per free slot.
                if async_items is not None:
                    async for item in async_items:
                        await feed(item)
                elif sync_items is not None:
                    for item in sync_items:
                        await feed(item)
            finally:
                # On success the source is exhausted and this is a no-op; on an
                # error or a cancel it runs the source's `finally` right now.
                await _close(async_items if async_items is not None else sync_items)
            for queue in queues:
                await queue.join()
            for worker in workers:
                worker.cancel()  # idle in `get()`; the group awaits them
    except BaseExceptionGroup as group:
        # Re-raise the stage's own exception object, not a group around it.
        raise _first_leaf(group) from None
    return [results[i] for i in range(count)]
