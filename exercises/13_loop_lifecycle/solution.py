"""Exercise 13: the event loop's life cycle.

Drive an event loop by hand: run steps on one loop with ``run_until_complete``,
run services under ``run_forever`` until a deadline, then shut down cleanly.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@dataclass
class RunReport:
    """What ``serve_for`` saw.

    ``outcomes`` maps each service name to ``"done:<repr of its result>"``,
    ``"error:<exception class name>"`` or ``"cancelled"``; ``stopped_at`` is the
    loop's time (``loop.time()``) at the moment the loop stopped.
    """

    outcomes: dict[str, str]
    stopped_at: float


def run_steps(
    steps: Sequence[Callable[[], Awaitable[Any]]],
    *,
    loop_factory: LoopFactory = asyncio.new_event_loop,
) -> list[Any]:
    """Run each step, in order, with ``run_until_complete`` on *one* fresh loop.

    Contract:
    - Exactly one loop, made by ``loop_factory()``, runs every step, so objects
      created in one step (a Queue, a task) are still usable in the next.
    - Returns the steps' results, in order.
    - The loop is closed at the end, and no current event loop is left set
      (never ``asyncio.set_event_loop(loop)`` without resetting it).
    - Called while an event loop is running, raises ``RuntimeError`` before
      making a loop or calling any step.
    """
    # TODO: one loop from loop_factory(), run_until_complete per step, then close it.
    raise NotImplementedError


def serve_for(
    duration: float,
    services: Mapping[str, Callable[[], Awaitable[Any]]],
    *,
    loop_factory: LoopFactory = asyncio.new_event_loop,
) -> RunReport:
    """Run ``services`` as tasks under ``run_forever`` for ``duration`` seconds.

    Contract:
    - One loop from ``loop_factory()``; every service starts as a task at once.
    - ``loop.call_later(duration, loop.stop)`` ends ``run_forever``;
      ``stopped_at`` is ``loop.time()`` right then, before any cleanup.
    - Then: cancel every task still pending and run the loop until they have
      finished (their ``finally`` blocks may await), run
      ``loop.shutdown_asyncgens()`` and ``loop.shutdown_default_executor()``,
      and close the loop. Nothing may be logged by asyncio.
    - ``outcomes[name]`` is ``"done:<repr>"``, ``"error:<Type>"`` or ``"cancelled"``.
    - No current event loop is left set. Called while an event loop is running,
      raises ``RuntimeError`` before making a loop or starting any service.
    """
    # TODO: tasks, call_later(duration, loop.stop), run_forever, then a clean shutdown.
    raise NotImplementedError
