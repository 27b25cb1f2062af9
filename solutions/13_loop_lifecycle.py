"""Reference solution for exercise 13: one loop driven by hand, then the shutdown asyncio.run does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@dataclass
class RunReport:
    outcomes: dict[str, str]  # "done:<repr>" | "error:<Type>" | "cancelled"
    stopped_at: float


def _refuse_inside_a_running_loop(name: str) -> None:
    # Check first, before a loop is made or a step's coroutine is created:
    # a running loop cannot run another one in the same thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{name}() cannot be called while an event loop is running")


async def _call(factory: Callable[[], Awaitable[Any]]) -> Any:
    # Call the factory inside the loop, so it may use get_running_loop().
    return await factory()


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left, let it clean up, finalize async generators and the executor."""
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        # Running the loop again delivers the cancellations; `finally` blocks
        # that await (a goodbye message, a flush) get to finish.
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    # Suspended async generators only run their `finally` when closed.
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())


def run_steps(
    steps: Sequence[Callable[[], Awaitable[Any]]],
    *,
    loop_factory: LoopFactory = asyncio.new_event_loop,
) -> list[Any]:
    """Run each step with ``run_until_complete`` on one fresh loop (see the stub)."""
    _refuse_inside_a_running_loop("run_steps")
    loop = loop_factory()  # never set as the current loop
    try:
        return [loop.run_until_complete(_call(step)) for step in steps]
    finally:
        try:
            _shutdown(loop)
        finally:
            loop.close()


def _outcome(task: asyncio.Task[Any]) -> str:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()  # also marks the exception as retrieved: nothing is logged
    if exc is not None:
        return f"error:{type(exc).__name__}"
    return f"done:{task.result()!r}"


def serve_for(
    duration: float,
    services: Mapping[str, Callable[[], Awaitable[Any]]],
    *,
    loop_factory: LoopFactory = asyncio.new_event_loop,
) -> RunReport:
    """Run the services under ``run_forever`` for ``duration`` seconds (see the stub)."""
    _refuse_inside_a_running_loop("serve_for")
    loop = loop_factory()
    try:
        tasks = {
            name: loop.create_task(_call(factory), name=name) for name, factory in services.items()
        }
        loop.call_later(duration, loop.stop)
        loop.run_forever()
        stopped_at = loop.time()  # before cleanup, which may take loop time
        _shutdown(loop)
        return RunReport({name: _outcome(task) for name, task in tasks.items()}, stopped_at)
    finally:
        loop.close()
