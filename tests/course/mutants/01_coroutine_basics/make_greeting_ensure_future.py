"""Mutant: make_greeting returns `asyncio.ensure_future(greet(...))`, a Task already scheduled.

Targets: test_make_greeting_returns_an_unstarted_coroutine
"""

import asyncio

CALLS = 0


async def greet(name, delay=0.0):
    global CALLS
    CALLS += 1
    await asyncio.sleep(delay)
    return f"Hello, {name}!"


def make_greeting(name, delay=0.0):
    return asyncio.ensure_future(greet(name, delay))


async def heartbeat(count, interval, stamps):
    loop = asyncio.get_running_loop()
    for _ in range(count):
        await asyncio.sleep(interval)
        stamps.append(loop.time())


def greet_sync(name, delay=0.0):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(greet(name, delay))
    raise RuntimeError("greet_sync() called from a running event loop")
