"""Alternative: asyncio.Runner(loop_factory=...) does the shutdown; serve_for's main
coroutine sleeps for `duration`, then cancels and awaits the survivors."""

import asyncio
from dataclasses import dataclass


@dataclass
class RunReport:
    outcomes: dict[str, str]
    stopped_at: float


def _check_no_running_loop(name):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{name}() cannot run inside a running event loop")


async def _call(factory):
    return await factory()


def run_steps(steps, *, loop_factory=asyncio.new_event_loop):
    _check_no_running_loop("run_steps")
    # Runner.close() cancels leftovers, shuts down async generators and the
    # default executor, and closes the loop; with a loop_factory it never sets
    # a current loop.
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return [runner.run(_call(step)) for step in steps]


def _describe(task):
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return "error:" + type(task.exception()).__name__
    return "done:" + repr(task.result())


def serve_for(duration, services, *, loop_factory=asyncio.new_event_loop):
    _check_no_running_loop("serve_for")

    async def main():
        loop = asyncio.get_running_loop()
        tasks = {name: asyncio.create_task(_call(f), name=name) for name, f in services.items()}
        await asyncio.sleep(duration)
        stopped_at = loop.time()
        survivors = [t for t in tasks.values() if not t.done()]
        for t in survivors:
            t.cancel()
        await asyncio.gather(*survivors, return_exceptions=True)
        return RunReport({name: _describe(t) for name, t in tasks.items()}, stopped_at)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())
