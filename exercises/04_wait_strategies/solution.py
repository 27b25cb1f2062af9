"""Exercise 04: wait strategies with asyncio.wait.

Start named jobs, wait for the first to finish, the first to fail, or all of
them (or until a timeout), then cancel what is left and report.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass
class WaitReport:
    done: dict[str, Any]  # name -> result or exception instance
    pending: list[str]  # sorted; were still running, now cancelled


async def run_and_wait(
    jobs: Mapping[str, Callable[[], Awaitable[Any]]],
    *,
    mode: Literal["first_completed", "first_exception", "all_completed"],
    timeout: float | None = None,
) -> WaitReport:
    """Run every job as a task named by its key and report how far they got.

    Contract:
    - A ``mode`` other than the three above raises ValueError before any job starts.
    - Each job starts as a task named by its key.
    - Wait with ``asyncio.wait`` semantics for ``mode`` ("first_completed",
      "first_exception", "all_completed"), or until ``timeout`` seconds have
      passed. A timeout is not an error.
    - Then cancel every job still running *and wait for those cancellations*,
      so their cleanup has run when this returns.
    - ``done`` maps each finished job to its result, or to the exception
      instance it raised (job errors are reported, never raised);
      ``pending`` lists, sorted, the jobs that were still running.
    - Empty ``jobs`` returns an empty report at once.
    - If the caller is cancelled, every job is cancelled and the
      cancellation propagates.
    """
    # TODO: create the tasks, asyncio.wait(...), then cancel and await the rest.
    raise NotImplementedError
