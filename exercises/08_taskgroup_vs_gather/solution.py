"""Exercise 08: TaskGroup vs gather.

Run jobs concurrently; on the first failure cancel the rest, wait for their
cleanup, then report the error as a group (all_or_nothing) or bare (fail_fast).
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def all_or_nothing(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run every job made by ``factories`` concurrently, inside an asyncio.TaskGroup.

    Contract:
    - No failure: the results, in input order, once the slowest job is done.
    - The first failure cancels the other jobs, waits for their cleanup, and
      raises an ExceptionGroup of the real errors, in the order they happened
      (a sibling failing in its ``finally`` while cancelled adds a member).
    - A cancel of the caller cancels the jobs, waits for their cleanup, and
      propagates as a plain CancelledError.
    """
    # TODO: use asyncio.TaskGroup.
    raise NotImplementedError


async def fail_fast(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Like asyncio.gather, but structured: nothing is left running when it raises.

    Contract:
    - No failure: the results, in input order, once the slowest job is done.
    - The first failure is raised bare (the very exception object, no group),
      but only after every other job was cancelled and finished its cleanup.
      A later error raised by a sibling's cleanup does not replace it.
    - A cancel of the caller cancels the jobs, waits for their cleanup, and
      propagates as a plain CancelledError.
    """
    # TODO: reuse the TaskGroup and unwrap its ExceptionGroup with except*.
    raise NotImplementedError
