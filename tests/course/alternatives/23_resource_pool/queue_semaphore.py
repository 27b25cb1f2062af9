"""Alternative: an asyncio.Semaphore(max_size) for the slots plus a Queue of idle resources.

Holding a permit means holding a resource (or creating one). The semaphore
queues waiters FIFO and already copes with a waiter cancelled just as it was
woken (it passes the permit on); the idle resource stays in the queue for the
next holder. aclose() takes every permit back, which waits for the
checked-out resources.
"""

import asyncio
import contextlib


class PoolClosed(Exception):
    pass


class Pool:
    def __init__(self, factory, *, max_size, close):
        self._factory = factory
        self._close = close
        self._max = max_size
        self._sem = asyncio.Semaphore(max_size)
        self._idle = asyncio.Queue()
        self._closed = False
        self.size = 0  # resources created and not yet closed

    @property
    def idle(self):
        return self._idle.qsize()

    async def _discard(self, resource):
        self.size -= 1
        await self._close(resource)

    @contextlib.asynccontextmanager
    async def acquire(self):
        if self._closed:
            raise PoolClosed("closed")
        await self._sem.acquire()
        try:
            if self._closed:
                raise PoolClosed("closed")
            if self._idle.empty():
                resource = await self._factory()  # a failure or cancel releases the permit
                self.size += 1
            else:
                resource = self._idle.get_nowait()
            try:
                yield resource
            except BaseException:
                await self._discard(resource)
                raise
            if self._closed:
                await self._discard(resource)
            else:
                self._idle.put_nowait(resource)
        finally:
            self._sem.release()

    async def aclose(self):
        self._closed = True
        for _ in range(self._max):  # every permit back: nothing is checked out
            await self._sem.acquire()
        while not self._idle.empty():
            await self._discard(self._idle.get_nowait())
        for _ in range(self._max):
            self._sem.release()
