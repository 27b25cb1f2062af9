"""Alternative: an asyncio.Event plus a result slot, always delivered via call_soon_threadsafe."""

import asyncio
import contextlib


async def request_async(client, payload):
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()
    slot = []  # (err, result) of the first callback call

    def deliver(err, result):
        # On the loop thread: the first delivery wins, later ones are dropped.
        if not slot:
            slot.append((err, result))
            arrived.set()

    def callback(err, result):
        # Any thread, any number of times: always hop to the loop thread.
        with contextlib.suppress(RuntimeError):  # the loop is closed
            loop.call_soon_threadsafe(deliver, err, result)

    request_id = client.request(payload, callback)
    try:
        await arrived.wait()
    except asyncio.CancelledError:
        client.cancel(request_id)
        raise
    err, result = slot[0]
    if err is not None:
        raise err
    return result
