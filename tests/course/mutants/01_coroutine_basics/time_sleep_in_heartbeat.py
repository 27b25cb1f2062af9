"""Mutant: `time.sleep` inside heartbeat, to "give each beat some time".

The schedule itself uses asyncio.sleep, so on the virtual clock the stamps
still look right: loop time does not see a blocking call. The blocking gate
must trip, with the line of the `time.sleep`.

Targets: test_heartbeat_stamps, test_two_heartbeats_take_one_second, test_cancelled_heartbeat_keeps_its_stamps
"""

import asyncio
import time

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
        time.sleep(0.02)  # blocks the whole loop for 20 ms of real time
        stamps.append(loop.time())


def greet_sync(name, delay=0.0):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(greet(name, delay))
    raise RuntimeError("greet_sync() called from a running event loop")
