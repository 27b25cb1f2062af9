"""Reference solution for exercise 04: asyncio.wait, then cancel and await what is pending."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

_MODES = {
    "first_completed": asyncio.FIRST_COMPLETED,
    "first_exception": asyncio.FIRST_EXCEPTION,
    "all_completed": asyncio.ALL_COMPLETED,
}


@dataclass
class WaitReport:
    done: dict[str, Any]  # name -> result or exception instance
    pending: list[str]  # sorted; were still running, now cancelled


async def _run(factory: Callable[[], Awaitable[Any]]) -> Any:
    # A task needs a coroutine; a factory may return any awaitable.
    return await factory()


async def run_and_wait(
    jobs: Mapping[str, Callable[[], Awaitable[Any]]],
    *,
    mode: Literal["first_completed", "first_exception", "all_completed"],
    timeout: float | None = None,
) -> WaitReport:
    """Start every job, wait per ``mode`` or ``timeout``, cancel the rest (see the stub)."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}")
    if not jobs:
        return WaitReport(done={}, pending=[])  # asyncio.wait() rejects an empty set

    tasks = {name: asyncio.create_task(_run(factory), name=name) for name, factory in jobs.items()}
    try:
        # A timeout is not an error: wait() just returns what is done by then.
        await asyncio.wait(tasks.values(), timeout=timeout, return_when=_MODES[mode])
    finally:
        # Normal return or our caller's cancellation: nothing may outlive this call.
        # Cancel what still runs and wait for the cancellations to finish, so every
        # job's cleanup has run before we return (or re-raise).
        still = [t for t in tasks.values() if not t.done()]
        for t in still:
            t.cancel()
        if still:
            await asyncio.wait(still)

    done: dict[str, Any] = {}
    pending: list[str] = []
    for name, task in tasks.items():
        if task.cancelled():
            pending.append(name)
        else:
            exc = task.exception()  # retrieved: reported, never raised or logged
            done[name] = task.result() if exc is None else exc
    return WaitReport(done=done, pending=sorted(pending))
