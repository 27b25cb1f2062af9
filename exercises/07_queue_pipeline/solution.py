"""Exercise 07: a pipeline of worker stages linked by bounded queues.

Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: ``workers`` tasks each apply ``fn`` to items."""

    fn: Callable[[Any], Awaitable[Any]]
    workers: int = 1


async def run_pipeline(
    source: Iterable[Any] | AsyncIterable[Any],
    stages: Sequence[Stage],
    *,
    maxsize: int = 1,
) -> list[Any]:
    """Push every item of ``source`` through ``stages`` and return the outputs.

    Contract:
    - Stages are linked by ``asyncio.Queue(maxsize)``; each stage runs
      ``stage.workers`` worker tasks, each awaiting ``stage.fn(item)``.
    - The result list is in *source* order: ``out[i]`` is item ``i`` after
      every stage, whatever order the workers finish in.
    - Backpressure: the source (a plain or an async iterable) is pulled only
      when there is room; a slow stage throttles everything upstream.
    - Shutdown: when the source is exhausted and every item is through, every
      worker stops and the call returns; it never hangs.
    - On a stage error: cancel every worker, close the source (``aclose()``
      for an async generator) and re-raise that very exception.
    - If the caller is cancelled, tear down the same way and let the
      cancellation propagate.
    """
    # TODO: one queue in front of each stage, worker tasks, a feeder, and a
    # clean teardown in every case.
    raise NotImplementedError
