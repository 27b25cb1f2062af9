"""Mutant: serve_for stops the loop and closes it at once: no cancel, no cleanup.

The forever service never sees its CancelledError, its `finally` never runs, and
asyncio logs "Task was destroyed but it is pending!".

Targets: test_forever_service_cancelled_and_cleaned_up, test_async_generator_finalized
"""

import asyncio
from dataclasses import dataclass


@dataclass
class RunReport:
    outcomes: dict
    stopped_at: float


def _refuse():
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("a loop is already running")


async def _call(factory):
    return await factory()


def run_steps(steps, *, loop_factory=asyncio.new_event_loop):
    _refuse()
    loop = loop_factory()
    try:
        return [loop.run_until_complete(_call(s)) for s in steps]
    finally:
        loop.close()


def _outcome(task):
    if not task.done() or task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"error:{type(task.exception()).__name__}"
    return f"done:{task.result()!r}"


def serve_for(duration, services, *, loop_factory=asyncio.new_event_loop):
    _refuse()
    loop = loop_factory()
    try:
        tasks = {name: loop.create_task(_call(f)) for name, f in services.items()}
        loop.call_later(duration, loop.stop)
        loop.run_forever()
        stopped_at = loop.time()
        return RunReport({name: _outcome(t) for name, t in tasks.items()}, stopped_at)
    finally:
        loop.close()
