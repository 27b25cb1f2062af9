"""Mutant: signal.signal handlers that call asyncio.run(pool.shutdown()).

The handler runs inside the running loop's thread, so asyncio.run raises
RuntimeError (and leaves the shutdown coroutine never awaited).

Targets: test_first_signal_is_graceful, test_second_signal_forces_close, test_subprocess_sigint_exits_cleanly
"""


from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_Item = tuple[Callable[[], Awaitable[Any]], "asyncio.Future[Any]"]


class PoolClosed(Exception):
    """The pool is shutting down (or shut down): it takes no new jobs."""


class WorkerPool:
    """``workers`` long-lived tasks running jobs from one ``asyncio.Queue(maxsize)``."""

    def __init__(self, workers: int, *, maxsize: int = 0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize)
        self._closing = False  # no new submits
        self._aborted = False  # running jobs cancelled, queued Futures cancelled
        self._room: deque[asyncio.Future[None]] = deque()  # submitters waiting for room
        self._workers = [
            asyncio.get_running_loop().create_task(self._work(), name=f"pool-worker-{i}")
            for i in range(workers)
        ]

    # -- submitting ---------------------------------------------------------------
    async def submit(self, job: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Queue ``job`` (waiting while the queue is full) and return its Future."""
        # Wait for room ourselves rather than in Queue.put, so that shutdown can
        # wake us with PoolClosed instead of leaving us blocked.
        while not self._closing and self._queue.full():
            waiter = asyncio.get_running_loop().create_future()
            self._room.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._room.remove(waiter)
        if self._closing:
            raise PoolClosed("the pool is shutting down; it takes no new jobs")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((job, fut))
        return fut

    def _wake_submitters(self, *, everyone: bool = False) -> None:
        while self._room:
            waiter = self._room.popleft()
            if not waiter.done():
                waiter.set_result(None)
                if not everyone:
                    return

    # -- the workers --------------------------------------------------------------
    async def _work(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self._aborted:
            job, fut = await self._queue.get()
            self._wake_submitters()  # one slot freed
            try:
                if fut.done():  # cancelled by whoever submitted it
                    continue
                try:
                    result = await job()
                except asyncio.CancelledError:
                    fut.cancel()
                    if me.cancelling():
                        raise  # the pool is stopping this worker
                    # else: the job cancelled itself; the worker goes on
                except Exception as exc:  # a failing job fails only its own Future
                    if not fut.done():
                        fut.set_exception(exc)
                else:
                    if not fut.done():
                        fut.set_result(result)
            finally:
                self._queue.task_done()

    # -- shutting down ------------------------------------------------------------
    async def shutdown(self, *, timeout: float | None = None) -> None:
        """Stop taking jobs and drain; after ``timeout`` seconds cancel what is left.

        Idempotent: a later call waits for the same pool to finish closing (and a
        shorter ``timeout`` cuts the drain short, which is what a second signal uses).
        """
        if not self._closing:
            self._closing = True
            self._wake_submitters(everyone=True)  # blocked submitters get PoolClosed
        if timeout is not None and timeout <= 0:
            self._abort()
        else:
            try:
                async with asyncio.timeout(timeout):
                    await self._queue.join()
            except TimeoutError:
                self._abort()
        # Drained (or aborted): stop the workers, idle or cancelled, and wait for them,
        # so every running job's cleanup is done when we return.
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    def _abort(self) -> None:
        """Cancel the running jobs (through their workers) and every queued Future."""
        if self._aborted:
            return
        self._aborted = True
        for worker in self._workers:
            worker.cancel()
        while True:
            try:
                _, fut = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            fut.cancel()
            self._queue.task_done()

    async def __aenter__(self) -> WorkerPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Graceful on a clean exit; if the body raised, stop at once.
        await self.shutdown(timeout=0 if exc and exc[0] is not None else None)


def install_signal_handlers(pool, *, grace, signals=(signal.SIGINT, signal.SIGTERM)):
    previous = {sig: signal.getsignal(sig) for sig in signals}
    received = 0

    def handler(signum, frame):
        nonlocal received
        received += 1
        asyncio.run(pool.shutdown(timeout=grace if received == 1 else 0))

    for sig in signals:
        signal.signal(sig, handler)

    def uninstall():
        for sig in signals:
            if previous[sig] is not None:
                signal.signal(sig, previous[sig])

    return uninstall
