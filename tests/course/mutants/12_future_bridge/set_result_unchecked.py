"""Mutant: sets the future without checking `done()` first.

A second callback call, or a late one after the caller was cancelled, raises
InvalidStateError inside the callback (logged by asyncio as "Exception in callback").

Targets: test_duplicate_callback_is_ignored, test_cancel_calls_client_cancel_once
"""

import asyncio


async def request_async(client, payload):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def deliver(err, result):
        if err is not None:
            fut.set_exception(err)
        else:
            fut.set_result(result)

    def callback(err, result):
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            deliver(err, result)
        else:
            loop.call_soon_threadsafe(deliver, err, result)

    request_id = client.request(payload, callback)
    try:
        return await fut
    except asyncio.CancelledError:
        client.cancel(request_id)
        raise
