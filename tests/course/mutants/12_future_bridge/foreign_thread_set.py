"""Mutant: touches the future directly from whatever thread calls back.

From a worker thread the loop is never woken; in debug mode `set_result`
raises RuntimeError ("Non-thread-safe operation ...") and the waiter is lost.

Targets: test_worker_thread_callback
"""

import asyncio


async def request_async(client, payload):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def callback(err, result):
        if fut.done():
            return
        if err is not None:
            fut.set_exception(err)
        else:
            fut.set_result(result)

    request_id = client.request(payload, callback)
    try:
        return await fut
    except asyncio.CancelledError:
        client.cancel(request_id)
        raise
