"""Alternative: H2O with one Condition and counters; philosophers served by a central waiter
task that grants fork pairs through futures."""

import asyncio


class H2O:
    def __init__(self):
        self._cond = asyncio.Condition()
        self._waiting = {"H": 0, "O": 0}  # blocked atoms not yet given a seat
        self._seats = {"H": 0, "O": 0}  # open seats of the molecule being released

    def _form(self):
        # A new molecule forms only when the previous one has completely left.
        if (
            self._seats["H"] == self._seats["O"] == 0
            and self._waiting["H"] >= 2
            and self._waiting["O"] >= 1
        ):
            self._waiting["H"] -= 2
            self._waiting["O"] -= 1
            self._seats["H"], self._seats["O"] = 2, 1
            self._cond.notify_all()

    async def _atom(self, kind, release):
        async with self._cond:
            self._waiting[kind] += 1
            self._form()
            try:
                await self._cond.wait_for(lambda: self._seats[kind] > 0)
            except BaseException:
                # Leave the pool of blocked atoms of this kind.
                if self._waiting[kind] > 0:
                    self._waiting[kind] -= 1
                else:
                    self._seats[kind] -= 1
                    self._form()
                raise
            self._seats[kind] -= 1
            release()
            self._form()

    async def hydrogen(self, release):
        await self._atom("H", release)

    async def oxygen(self, release):
        await self._atom("O", release)


class DiningTable:
    def __init__(self, n=5):
        self._n = n
        self._in_use = [False] * n
        self._requests = []  # (left, right, future), oldest first
        self._wake = asyncio.Event()
        self._waiter = None

    def _nudge(self):
        """Make the waiter look at the requests again (starting it if it has retired)."""
        self._wake.set()
        if self._requests and (self._waiter is None or self._waiter.done()):
            self._waiter = asyncio.get_running_loop().create_task(self._serve())

    async def _serve(self):
        # The waiter lives only while someone is waiting, so nothing outlives the calls.
        while True:
            self._wake.clear()
            still = []
            for left, right, grant in self._requests:
                if grant.done():  # its philosopher was cancelled
                    continue
                if not self._in_use[left] and not self._in_use[right]:
                    self._in_use[left] = self._in_use[right] = True
                    grant.set_result(None)
                else:
                    still.append((left, right, grant))
            self._requests = still
            if not still:
                return
            await self._wake.wait()

    def _free(self, left, right):
        self._in_use[left] = self._in_use[right] = False
        self._nudge()

    async def wants_to_eat(self, p, pick_left, pick_right, eat, put_left, put_right):
        left, right = p, (p + 1) % self._n
        grant = asyncio.get_running_loop().create_future()
        self._requests.append((left, right, grant))
        self._nudge()
        try:
            await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():
                self._free(left, right)  # granted just as the cancel landed: hand back
            else:
                self._nudge()  # let the waiter drop this request
            raise
        pick_left()
        pick_right()
        try:
            await eat()
        finally:
            put_left()
            put_right()
            self._free(left, right)
