"""Mutant: run_steps calls asyncio.run once per step.

Every step gets a brand-new loop: the Queue and consumer task made in step 1
belong to a loop that is already closed when step 2 feeds the queue.

Targets: test_steps_share_one_loop
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
    return [asyncio.run(_call(s)) for s in steps]


def _shutdown(loop):
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in left:
        t.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())


def _outcome(task):
    if task.cancelled():
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
        _shutdown(loop)
        return RunReport({name: _outcome(t) for name, t in tasks.items()}, stopped_at)
    finally:
        loop.close()
