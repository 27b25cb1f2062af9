"""Mutant: greet_sync returns `greet(name)`, a coroutine object nobody awaits (plus a warning).

Targets: test_greet_sync_returns_a_str, test_greet_sync_inside_a_running_loop
"""

import asyncio

CALLS = 0


async def greet(name, delay=0.0):
    global CALLS
    CALLS += 1
    await asyncio.sleep(delay)
    return f"Hello, {name}!"


def make_greeting(name, delay=0.0):
    return greet(name, delay)


async def heartbeat(count, interval, stamps):
    loop = asyncio.get_running_loop()
    for _ in range(count):
        await asyncio.sleep(interval)
        stamps.append(loop.time())


def greet_sync(name, delay=0.0):
    return greet(name)
