"""Alternative: an explicit state field, with the open -> half_open transition scheduled by
``loop.call_later`` (and its handle cancelled whenever the circuit closes or reopens)."""

import asyncio


class CircuitOpenError(Exception):
    pass


class CircuitBreaker:
    def __init__(self, *, failure_threshold, reset_timeout, call_timeout=None):
        self._threshold = failure_threshold
        self._reset = reset_timeout
        self._call_timeout = call_timeout
        self._state = "closed"
        self._failures = 0
        self._timer = None
        self._trial = False

    @property
    def state(self):
        return self._state

    def _open(self):
        if self._timer is not None:
            self._timer.cancel()
        self._state = "open"
        self._timer = asyncio.get_running_loop().call_later(self._reset, self._half_open)

    def _half_open(self):
        self._timer = None
        self._state = "half_open"

    def _close(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._state = "closed"
        self._failures = 0

    async def call(self, fn):
        if self._state == "open" or (self._state == "half_open" and self._trial):
            raise CircuitOpenError(self._state)
        trial = self._state == "half_open"
        self._trial = self._trial or trial
        try:
            if self._call_timeout is None:
                result = await fn()
            else:
                result = await asyncio.wait_for(fn(), self._call_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if trial:
                self._open()
                raise CircuitOpenError("the trial failed") from exc
            if self._state == "closed":
                self._failures += 1
                if self._failures >= self._threshold:
                    self._open()
                    raise CircuitOpenError("too many failures") from exc
            raise
        finally:
            if trial:
                self._trial = False
        if trial or self._state == "closed":
            self._close()
        return result
