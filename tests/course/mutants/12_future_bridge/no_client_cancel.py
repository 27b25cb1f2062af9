"""Mutant: lets the cancellation propagate but never calls `client.cancel`.

Targets: test_cancel_calls_client_cancel_once
"""

import asyncio


async def request_async(client, payload):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def deliver(err, result):
        if fut.done():
            return
        if err is not None:
            fut.set_exception(err)
        else:
            fut.set_result(result)

    def callback(err, result):
        try:
            loop.call_soon_threadsafe(deliver, err, result)
        except RuntimeError:
            pass

    client.request(payload, callback)
    return await fut
