"""Exercise 24: a worker pool with graceful shutdown on signals.

Run jobs on a fixed number of worker tasks fed by a bounded queue, shut the
pool down gracefully (or not so gracefully, after a timeout), and wire that
shutdown to SIGINT/SIGTERM through the event loop.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class PoolClosed(Exception):
    """The pool is shutting down (or shut down): it takes no new jobs."""


class WorkerPool:
    """``workers`` long-lived tasks running jobs taken from one ``asyncio.Queue(maxsize)``.

    Contract:
    - Made inside a running loop; usable at once, with or without ``async with``.
    - ``submit(job)`` waits while the queue is full, then queues the job and
      returns its Future. ``job`` is a zero-argument callable returning an
      awaitable; a worker calls it when it takes the job.
    - A job's result or exception goes to its own Future; a failing job never
      harms the worker or any other job.
    - ``shutdown(timeout=None)``: from now on ``submit`` raises ``PoolClosed``
      (also for submitters already waiting for room); the queue is drained. After
      ``timeout`` seconds, the running jobs are cancelled (their cleanup awaited)
      and the queued jobs' Futures cancelled. Returns when every worker has ended.
      Idempotent.
    - ``async with`` leaves with a graceful shutdown, or an immediate one if the
      body raised.
    """

    def __init__(self, workers: int, *, maxsize: int = 0) -> None:
        # TODO: an asyncio.Queue(maxsize) and `workers` long-lived worker tasks.
        raise NotImplementedError

    async def submit(self, job: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Queue ``job`` (waiting while the queue is full) and return its Future."""
        raise NotImplementedError

    async def shutdown(self, *, timeout: float | None = None) -> None:
        """Reject new jobs, drain the queue; after ``timeout`` seconds cancel what is left."""
        raise NotImplementedError

    async def __aenter__(self) -> WorkerPool:
        raise NotImplementedError

    async def __aexit__(self, *exc: object) -> None:
        """Graceful shutdown; immediate (cancel everything) if the body raised."""
        raise NotImplementedError


def install_signal_handlers(
    pool: WorkerPool,
    *,
    grace: float,
    signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM),
) -> Callable[[], None]:
    """Shut ``pool`` down on ``signals``; return a function that uninstalls the handlers.

    Contract:
    - Must be called inside the running loop; handlers go through
      ``loop.add_signal_handler``.
    - The first signal starts ``pool.shutdown(timeout=grace)``; the second forces
      an immediate shutdown (running jobs and queued Futures cancelled at once).
    - The returned function removes the handlers and puts back the ones that were
      installed before (``signal.getsignal`` before, ``signal.signal`` after).
    """
    # TODO: loop.add_signal_handler for each signal; count the signals received.
    raise NotImplementedError
