"""Alternative: make_greeting is itself a coroutine function that awaits greet.

Calling it still only builds a coroutine object; greet runs when that is awaited.
heartbeat sleeps one interval per beat (no schedule against the start time), and
greet_sync lets asyncio.run refuse inside a running loop, closing the coroutine
it could not run.
"""

import asyncio

CALLS = 0


async def greet(name: str, delay: float = 0.0) -> str:
    global CALLS
    CALLS += 1
    await asyncio.sleep(delay)
    return "Hello, " + name + "!"


async def make_greeting(name: str, delay: float = 0.0) -> str:
    return await greet(name, delay)


async def heartbeat(count: int, interval: float, stamps: list[float]) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(count):
        await asyncio.sleep(interval)
        stamps.append(loop.time())


def greet_sync(name: str, delay: float = 0.0) -> str:
    coro = greet(name, delay)
    try:
        return asyncio.run(coro)
    except RuntimeError:
        coro.close()  # asyncio.run refused it (a loop is running): no never-awaited warning
        raise
