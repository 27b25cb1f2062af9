"""Mutant: the timer handle is not cancelled when the block ends early.

At the old deadline it cancels whatever the task is doing by then.

Targets: test_early_finish_no_stray_cancel
"""

import asyncio


class move_on_after:
    def __init__(self, delay):
        self._delay = delay
        self.deadline = None
        self.cancelled_caught = False
        self._task = None
        self._handle = None
        self._fired = False
        self._level = 0

    async def __aenter__(self):
        self._task = asyncio.current_task()
        self._level = self._task.cancelling()
        self._arm(self._delay)
        return self

    async def __aexit__(self, et, e, tb):
        # (forgot: self._handle.cancel())
        if not self._fired:
            return None
        remaining = self._task.uncancel()
        if et is not None and issubclass(et, asyncio.CancelledError) and remaining <= self._level:
            self.cancelled_caught = True
            return True
        return None

    def reschedule(self, delay):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._arm(delay)

    def _arm(self, delay):
        if delay is None:
            self.deadline = None
            return
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + delay
        if delay <= 0:
            self._handle = loop.call_soon(self._fire)
        else:
            self._handle = loop.call_at(self.deadline, self._fire)

    def _fire(self):
        self._handle = None
        self._fired = True
        self._task.cancel()
