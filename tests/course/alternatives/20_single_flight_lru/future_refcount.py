"""Alternative: `dict[K, Future]` fed by a detached loader task, with a waiter refcount.

Each waiter waits on the shared Future through `asyncio.wait`, which never cancels what
it waits on, so a waiter's cancel stays its own. The loader task is detached: it settles
the Future and stores the value itself. When the refcount drops to zero while the Future
is still pending, the loader task is cancelled.
"""

import asyncio
from collections import OrderedDict


class _Flight:
    def __init__(self, future):
        self.future = future
        self.task = None
        self.refs = 0
        self.keep = True


class AsyncLRU:
    def __init__(self, loader, *, maxsize, ttl=None):
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._loader = loader
        self._maxsize = maxsize
        self._ttl = ttl
        self._data = OrderedDict()  # key -> (value, loaded_at)
        self._flights = {}

    def _fresh(self, key, now):
        if key not in self._data:
            return False
        _, loaded_at = self._data[key]
        if self._ttl is not None and now - loaded_at >= self._ttl:
            del self._data[key]
            return False
        return True

    async def get(self, key):
        loop = asyncio.get_running_loop()
        if self._fresh(key, loop.time()):
            self._data.move_to_end(key)
            return self._data[key][0]
        flight = self._flights.get(key)
        if flight is None:
            flight = _Flight(loop.create_future())
            self._flights[key] = flight
            flight.task = loop.create_task(self._feed(key, flight))
        flight.refs += 1
        try:
            await asyncio.wait([flight.future])
        finally:
            flight.refs -= 1
            if flight.refs == 0 and not flight.future.done():
                if self._flights.get(key) is flight:
                    del self._flights[key]
                flight.task.cancel()
        return flight.future.result()

    async def _feed(self, key, flight):
        try:
            value = await self._loader(key)
        except asyncio.CancelledError:
            flight.future.cancel()
            raise
        except Exception as exc:
            flight.future.set_exception(exc)
            # Every waiter reads it through result(); mark it retrieved in any case.
            flight.future.exception()
            return
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if flight.keep:
            self._data[key] = (value, asyncio.get_running_loop().time())
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)
        flight.future.set_result(value)

    def invalidate(self, key):
        self._data.pop(key, None)
        flight = self._flights.pop(key, None)
        if flight is not None:
            flight.keep = False

    def __len__(self):
        return len(self._data)
