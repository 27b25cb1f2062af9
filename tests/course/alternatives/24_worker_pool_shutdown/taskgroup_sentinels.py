"""Alternative: a TaskGroup of workers stopped by per-worker sentinels.

Blocked submitters race `queue.put` against a "closing" Event. On Python 3.13+
the queue's own shutdown does that job instead: `Queue.shutdown()` makes blocked
`put` calls raise QueueShutDown and lets `get` drain what is left, and
`Queue.shutdown(immediate=True)` empties it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

HAS_QUEUE_SHUTDOWN = sys.version_info >= (3, 13)


class PoolClosed(Exception):
    pass


class WorkerPool:
    def __init__(self, workers: int, *, maxsize: int = 0) -> None:
        self._n = workers
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._closing = asyncio.Event()
        self._aborted = False
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for _ in range(self._n):
                tg.create_task(self._work())

    async def _work(self) -> None:
        while True:
            if HAS_QUEUE_SHUTDOWN:
                try:
                    item = await self._queue.get()
                except asyncio.QueueShutDown:
                    return
            else:
                item = await self._queue.get()
                if item is None:  # this worker's sentinel
                    return
            job, fut = item
            if fut.done():
                continue
            try:
                result = await job()
            except asyncio.CancelledError:
                fut.cancel()
                raise
            except Exception as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)

    async def submit(self, job: Callable[[], Awaitable[Any]]) -> asyncio.Future[Any]:
        if self._closing.is_set():
            raise PoolClosed("pool closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if HAS_QUEUE_SHUTDOWN:
            try:
                await self._queue.put((job, fut))
            except asyncio.QueueShutDown:
                raise PoolClosed("pool closed") from None
            return fut
        put = asyncio.ensure_future(self._queue.put((job, fut)))
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({put, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (put, closing):
                t.cancel()
            await asyncio.gather(put, closing, return_exceptions=True)
        if put.cancelled():
            raise PoolClosed("pool closed")
        return fut

    async def shutdown(self, *, timeout: float | None = None) -> None:
        first = not self._closing.is_set()
        self._closing.set()
        if first and HAS_QUEUE_SHUTDOWN:
            self._queue.shutdown()  # blocked puts raise, gets drain what is left
        try:
            async with asyncio.timeout(timeout):
                if first and not HAS_QUEUE_SHUTDOWN:
                    await asyncio.sleep(0)  # let blocked submitters see `closing` first
                    for _ in range(self._n):
                        await self._queue.put(None)
                await asyncio.wait({self._runner})
        except TimeoutError:
            self._abort()
        await asyncio.wait({self._runner})

    def _abort(self) -> None:
        if self._aborted:
            return
        self._aborted = True
        self._runner.cancel()  # the TaskGroup cancels every worker, and so every running job
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                item[1].cancel()
        if HAS_QUEUE_SHUTDOWN:
            self._queue.shutdown(immediate=True)

    async def __aenter__(self) -> WorkerPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown(timeout=0 if exc[0] is not None else None)


def install_signal_handlers(
    pool: WorkerPool,
    *,
    grace: float,
    signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM),
) -> Callable[[], None]:
    loop = asyncio.get_running_loop()
    saved = [(sig, signal.getsignal(sig)) for sig in signals]
    state = {"count": 0, "tasks": set()}

    def handle() -> None:
        state["count"] += 1
        t = asyncio.ensure_future(pool.shutdown(timeout=grace if state["count"] == 1 else 0))
        state["tasks"].add(t)
        t.add_done_callback(state["tasks"].discard)

    for sig in signals:
        loop.add_signal_handler(sig, handle)

    def uninstall() -> None:
        for sig, previous in saved:
            loop.remove_signal_handler(sig)
            if previous is not None:
                signal.signal(sig, previous)

    return uninstall
