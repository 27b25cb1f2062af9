"""Mutant: the callback fills a slot that the coroutine polls every 5 ms.

Replies arrive up to 5 ms late: close enough for "T=", never "exact".

Targets: test_delivery_is_exact
"""

import asyncio
import threading


async def request_async(client, payload):
    slot = []
    lock = threading.Lock()

    def callback(err, result):
        with lock:
            if not slot:
                slot.append((err, result))

    request_id = client.request(payload, callback)
    try:
        while not slot:
            await asyncio.sleep(0.005)
    except asyncio.CancelledError:
        client.cancel(request_id)
        raise
    err, result = slot[0]
    if err is not None:
        raise err
    return result
