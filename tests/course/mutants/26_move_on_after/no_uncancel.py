"""Mutant: absorbs its own cancel without Task.uncancel(), so cancelling() stays at 1.

On 3.13 (and under the grader's backported TaskGroup.__aexit__ on older versions) a
later TaskGroup whose child fails then re-cancels the task: a stray CancelledError.

Targets: test_cancelling_restored
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

    async def __aenter__(self):
        self._task = asyncio.current_task()
        self._arm(self._delay)
        return self

    async def __aexit__(self, et, e, tb):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._fired and et is not None and issubclass(et, asyncio.CancelledError):
            self.cancelled_caught = True
            return True  # no uncancel(): the count stays one too high
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
