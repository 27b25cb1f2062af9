"""Hidden suite for exercise 25: LoopThread and make_sync, the sync/async bridge.

Every check runs on the real clock (@realtime): the learner's loop lives in a
thread of its own, and callers are real threads. Most checks are plain ``def``
checks, because the API is synchronous and must be called where no loop runs;
one is ``async def``, to call the facade inside a running loop.

Durations are 0.1-0.2 s, windows are wide (a lower bound plus about 2x), and
every wait on the learner's code is bounded: a call that never returns is
reported as such, in a helper thread, instead of hanging the check.

The harness core ``AsyncKV`` behaves like a real connection pool: it ties
itself to the first loop it runs on, keeps a background task alive there, and
serves every operation through that task and an ``asyncio.Queue``. Running it
on a second loop raises "bound to a different event loop".
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from grader import kata

SLEEP = 0.2  # each submitted coroutine's sleep
CONCURRENT_WITHIN = 0.4  # 8 of them from 8 threads (sequential: 1.6 s)
CANCEL_WITHIN = 0.1  # a cancel reaching the remote coroutine's finally
TIMEOUT = 0.1  # call(timeout=...)
TIMEOUT_WITHIN = 0.2  # when call(timeout=0.1) must have raised
BOUND = 3.0  # real seconds before a blocking call counts as stuck
STOP_BOUND = 6.0  # stop() has a 5 s default timeout of its own
HAMMER_BOUND = 5.0  # 200 facade calls from 8 threads (each takes well under a millisecond)


# -- helpers ---------------------------------------------------------------------


def _bounded(fn: Callable[[], Any], seconds: float, what: str, hint: str) -> Any:
    """Run ``fn`` in a helper thread; fail if it does not return within ``seconds``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    helper = threading.Thread(target=run, name="check-helper", daemon=True)
    helper.start()
    helper.join(seconds)
    if helper.is_alive():
        kata.fail(f"{what} had not returned {seconds:g} s later: {hint}")
    if "error" in box:
        raise box["error"]
    return box.get("value")


@contextlib.contextmanager
def _loop_thread(submission: Any) -> Iterator[Any]:
    """A started LoopThread, stopped (bounded) afterwards whatever happened."""
    lt = submission.LoopThread()
    lt.start()
    failed = False
    try:
        yield lt
    except BaseException:
        failed = True
        raise
    finally:
        try:
            _bounded(
                lambda: lt.stop(),
                STOP_BOUND,
                "LoopThread.stop() after the check",
                "stop the loop (loop.call_soon_threadsafe(loop.stop)) and join the thread",
            )
        except BaseException:
            if not failed:
                raise


class Probe:
    """What a coroutine run on the learner's loop saw (thread-safe records)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loops: set[int] = set()
        self.threads: dict[int, threading.Thread] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = threading.Event()
        self.finally_at: dict[str, float] = {}
        self.cancelled: set[str] = set()
        self.cleaned: set[str] = set()

    def where(self) -> None:
        loop = asyncio.get_running_loop()
        me = threading.current_thread()
        with self.lock:
            self.loops.add(id(loop))
            self.threads[me.ident or 0] = me
            self.loop = loop

    async def sleeper(self, name: str, seconds: float, result: Any = None) -> Any:
        self.where()
        self.started.set()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            with self.lock:
                self.cancelled.add(name)
            raise
        finally:
            with self.lock:
                self.finally_at[name] = time.monotonic()
        return result

    async def slow_cleanup(self, name: str) -> None:
        """Pending until cancelled; its finally needs the loop for one more await."""
        self.where()
        self.started.set()
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # cleanup that needs the loop still running
            with self.lock:
                self.cleaned.add(name)


def _watch_loop_logs(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    """Record what asyncio reports on ``loop`` (and still pass it on)."""
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(context)
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return seen


def _describe_logs(logs: list[dict[str, Any]]) -> str:
    return "; ".join(repr(str(ctx.get("message", ""))) for ctx in logs)


def _make_kv_class() -> tuple[type, list[Any]]:
    """A fresh harness core class and the list of its instances."""
    created: list[Any] = []

    class AsyncKV:
        """A key-value store served by one background task, like a connection pool."""

        def __init__(self, name: str = "kv") -> None:
            self.name = name
            self._data: dict[str, Any] = {}
            self._loop: asyncio.AbstractEventLoop | None = None
            self._inbox: asyncio.Queue[Any] | None = None
            self._pump: asyncio.Task[None] | None = None
            self.loops: set[int] = set()
            self.threads: dict[int, threading.Thread] = {}
            self.pump_cleaned = threading.Event()
            created.append(self)

        async def _attach(self) -> None:
            loop = asyncio.get_running_loop()
            if self._loop is None:
                self._loop = loop
                self._inbox = asyncio.Queue()
                self._pump = loop.create_task(self._serve(), name="AsyncKV-pump")
                await asyncio.sleep(0)  # the pump now waits on the queue, bound to this loop
            elif loop is not self._loop:
                raise RuntimeError(
                    f"<Queue of AsyncKV {self.name!r}> is bound to a different event loop: "
                    "this core was first used on another loop, where its background task lives"
                )
            assert self._pump is not None
            if self._pump.done():
                raise RuntimeError(
                    "AsyncKV's background task is gone: the loop it lived on was stopped"
                )
            me = threading.current_thread()
            self.loops.add(id(loop))
            self.threads[me.ident or 0] = me

        async def _serve(self) -> None:
            assert self._inbox is not None
            try:
                while True:
                    op, args, reply = await self._inbox.get()
                    try:
                        value = getattr(self, "_do_" + op)(*args)
                    except Exception as exc:
                        if not reply.done():
                            reply.set_exception(exc)
                    else:
                        if not reply.done():
                            reply.set_result(value)
            finally:
                self.pump_cleaned.set()

        async def _request(self, op: str, *args: Any) -> Any:
            await self._attach()
            assert self._inbox is not None
            reply = asyncio.get_running_loop().create_future()
            self._inbox.put_nowait((op, args, reply))
            return await reply

        def _do_get(self, key: str, default: Any) -> Any:
            return self._data.get(key, default)

        def _do_set(self, key: str, value: Any) -> None:
            self._data[key] = value

        def _do_incr(self, key: str, by: int) -> int:
            self._data[key] = self._data.get(key, 0) + by
            return int(self._data[key])

        def _do_keys(self) -> list[str]:
            return sorted(self._data)

        async def get(self, key: str, default: Any = None) -> Any:
            """Return the value stored under ``key``, or ``default``."""
            return await self._request("get", key, default)

        async def set(self, key: str, value: Any) -> None:
            """Store ``value`` under ``key``."""
            await self._request("set", key, value)

        async def incr(self, key: str, by: int = 1) -> int:
            """Add ``by`` to the integer under ``key`` (0 if missing); the new value."""
            return int(await self._request("incr", key, by))

        async def keys(self) -> list[str]:
            """Every key, sorted."""
            return list(await self._request("keys"))

        def describe(self) -> str:
            """A plain (not async) method: not part of the facade contract."""
            return f"AsyncKV({self.name!r})"

    return AsyncKV, created


MIRRORED = ("get", "set", "incr", "keys")


def _close_facade(kv: Any, what: str) -> None:
    _bounded(
        kv.close,
        STOP_BOUND,
        what,
        "close() must stop the facade's private LoopThread (cancel its pending work, close "
        "the loop, join the thread)",
    )


# -- behaviour -------------------------------------------------------------------


@kata.realtime
@kata.check(
    "8 threads submitting: every coroutine runs on one loop in one daemon thread",
    group="behaviour",
    hint=1,
)
def test_one_loop_one_thread(submission):
    probe = Probe()
    with _loop_thread(submission) as lt:
        results: dict[int, Any] = {}
        errors: list[BaseException] = []
        callers: set[int] = {threading.get_ident()}

        def caller(i: int) -> None:
            callers.add(threading.get_ident())
            try:
                fut = lt.submit(probe.sleeper(f"c{i}", 0.05, result=i * i))
                results[i] = fut.result(BOUND)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(BOUND + 1)
        if errors:
            exc = errors[0]
            if isinstance(exc, TimeoutError):
                kata.fail(
                    f"a coroutine submitted from a caller thread had not finished {BOUND:g} s "
                    "later (it sleeps 0.05 s): the loop never ran it. A foreign thread must not "
                    "call loop.create_task(): nothing wakes the loop. Use "
                    "asyncio.run_coroutine_threadsafe(coro, loop)"
                )
            raise exc
        kata.expect_equal(
            [results.get(i) for i in range(8)],
            [i * i for i in range(8)],
            what="submit(coro).result() from 8 threads",
            hint="each caller gets its own coroutine's result",
        )
        kata.expect(
            len(probe.loops) == 1,
            f"the 8 coroutines ran on {len(probe.loops)} different event loops; a LoopThread "
            "runs one loop, started once, and every submit schedules onto it",
        )
        ran_on = list(probe.threads.values())
        kata.expect(
            len(ran_on) == 1,
            f"the 8 coroutines ran on {len(ran_on)} different threads; they must all run on "
            "the LoopThread's own thread",
        )
        loop_thread = ran_on[0]
        kata.expect(
            loop_thread.ident not in callers,
            "the coroutines ran on a caller's thread; they must run on the LoopThread's own "
            "thread, which runs the loop forever",
        )
        kata.expect(
            loop_thread.daemon,
            f"the loop's thread {loop_thread.name!r} is not a daemon thread: "
            "threading.Thread(..., daemon=True), so that a forgotten stop() does not keep the "
            "program alive",
        )


@kata.realtime
@kata.check(
    "call() blocks for the result, and re-raises the coroutine's own exception",
    group="behaviour",
    hint=2,
)
def test_call_returns_and_raises(submission):
    probe = Probe()
    boom = LookupError("remote failure")

    async def failing() -> None:
        await asyncio.sleep(0.05)
        raise boom

    with _loop_thread(submission) as lt:
        got = _bounded(
            lambda: lt.call(probe.sleeper("ok", 0.1, result={"answer": 42})),
            BOUND,
            "LoopThread.call(coro)",
            "call() submits the coroutine and waits on its Future: fut.result(timeout)",
        )
        kata.expect_equal(got, {"answer": 42}, what="LoopThread.call(coro)")
        kata.expect(
            probe.threads and threading.get_ident() not in probe.threads,
            "call() ran the coroutine on the calling thread; it must run on the loop thread",
        )
        try:
            _bounded(lambda: lt.call(failing()), BOUND, "LoopThread.call(failing coro)", "")
        except LookupError as exc:
            kata.expect(
                exc is boom,
                f"call() re-raised {exc!r}, but not the coroutine's own exception object",
            )
        else:
            kata.fail(
                "call() of a coroutine that raised LookupError returned instead of raising it"
            )


@kata.realtime
@kata.check(
    "make_sync: one core on one loop, state kept, same names, signatures and docs",
    group="behaviour",
    hint=4,
)
def test_facade_state_and_signatures(submission):
    AsyncKV, created = _make_kv_class()
    SyncKV = submission.make_sync(AsyncKV)
    kata.expect(
        inspect.isclass(SyncKV), f"make_sync(AsyncKV) returned {SyncKV!r}; it must return a class"
    )
    for name in MIRRORED:
        attr = inspect.getattr_static(SyncKV, name, None)
        if attr is None:
            kata.fail(
                f"the facade class has no attribute {name!r}: `inspect.signature(SyncKV.{name})` "
                "needs a real method on the class, not an instance __getattr__ proxy. Build the "
                "class with type(name, bases, namespace), one blocking method per public async "
                "method of the core"
            )
        method = getattr(SyncKV, name)
        kata.expect(
            not inspect.iscoroutinefunction(method),
            f"SyncKV.{name} is a coroutine function; the facade's methods block and return "
            "the result",
        )
        want, got = inspect.signature(getattr(AsyncKV, name)), None
        try:
            got = inspect.signature(method)
        except (TypeError, ValueError) as exc:
            kata.fail(f"inspect.signature(SyncKV.{name}) failed: {exc}")
        kata.expect(
            got == want,
            f"inspect.signature(SyncKV.{name}) is {got}; expected the core's {want}: copy it "
            "(functools.wraps(async_method) does, through __wrapped__)",
        )
        kata.expect(
            method.__doc__ == getattr(AsyncKV, name).__doc__,
            f"SyncKV.{name}.__doc__ is {method.__doc__!r}; expected the core's docstring "
            f"{getattr(AsyncKV, name).__doc__!r}",
        )
    kv = _bounded(lambda: SyncKV("store"), BOUND, 'SyncKV("store")', "")
    try:
        for name in MIRRORED:
            unbound = inspect.signature(getattr(AsyncKV, name))
            want = unbound.replace(parameters=list(unbound.parameters.values())[1:])
            got = inspect.signature(getattr(kv, name))
            kata.expect(
                got == want,
                f"on an instance, inspect.signature(kv.{name}) is {got}; expected {want}",
            )
            kata.expect(
                getattr(kv, name).__doc__ == getattr(AsyncKV, name).__doc__,
                f"kv.{name}.__doc__ is {getattr(kv, name).__doc__!r}; expected the core's",
            )

        def session() -> list[Any]:
            return [
                kv.set("a", 1),
                kv.get("a"),
                kv.incr("n"),
                kv.incr("n", by=5),
                kv.get("missing", 7),
                kv.keys(),
                kv.get("n"),
            ]

        try:
            got_values = _bounded(
                session,
                BOUND,
                "a few facade calls",
                "each facade method runs the core's coroutine on the private loop and blocks "
                "for its result",
            )
        except RuntimeError as exc:
            kata.fail(
                f"a facade call raised RuntimeError: {exc}. The core ties itself to the first "
                "loop it runs on and keeps a background task there: every call must go to that "
                "same loop (one private LoopThread per facade), not to a fresh asyncio.run"
            )
        kata.expect(
            len(created) == 1 and created[0].name == "store",
            f'SyncKV("store") made {len(created)} core instance(s) '
            f'({[c.name for c in created]}); expected exactly one, AsyncKV("store"), made '
            "with the facade's arguments",
        )
        core = created[0]
        kata.expect_equal(
            got_values,
            [None, 1, 1, 6, 7, ["a", "n"], 6],
            what='kv.set("a", 1), kv.get("a"), kv.incr("n"), kv.incr("n", by=5), '
            'kv.get("missing", 7), kv.keys(), kv.get("n")',
            hint="state must persist across calls: one core instance, on one loop",
        )
        kata.expect(
            len(core.loops) == 1 and len(core.threads) == 1,
            f"the core ran on {len(core.loops)} loop(s) and {len(core.threads)} thread(s); "
            "expected one private loop in one thread",
        )
        kata.expect(
            threading.get_ident() not in core.threads,
            "the core ran on the calling thread; it must run on the facade's private loop thread",
        )
        kata.expect(
            not core.pump_cleaned.is_set(),
            "the core's background task ended between calls: the private loop must keep running",
        )
    finally:
        _close_facade(kv, "kv.close()")


@kata.realtime
@kata.check(
    "the facade supports close() and `with`: its loop thread ends, its tasks clean up",
    group="behaviour",
    hint=5,
)
def test_facade_close_and_with(submission):
    AsyncKV, created = _make_kv_class()
    SyncKV = submission.make_sync(AsyncKV)
    facade = _bounded(lambda: SyncKV("with"), BOUND, 'SyncKV("with")', "")
    with facade as kv:
        kata.expect(
            kv is facade,
            f"`with SyncKV(...) as kv` bound kv to {kv!r}; __enter__ must return the facade",
        )
        _bounded(lambda: kv.set("x", 1), BOUND, 'kv.set("x", 1)', "")
        core = created[0]
    kv2 = _bounded(lambda: SyncKV("closed"), BOUND, 'SyncKV("closed")', "")
    _bounded(lambda: kv2.set("y", 2), BOUND, 'kv2.set("y", 2)', "")
    _close_facade(kv2, "kv.close()")
    for what, check_core in (("leaving `with`", core), ("close()", created[-1])):
        threads = list(check_core.threads.values())
        kata.expect(
            threads and not any(t.is_alive() for t in threads),
            f"after {what}, the facade's private loop thread was still alive: close() must stop "
            "the LoopThread and join its thread",
        )
        kata.expect(
            check_core.pump_cleaned.is_set(),
            f"after {what}, the core's background task never ran its cleanup: stopping the "
            "LoopThread must cancel pending tasks and let them finish before closing the loop",
        )


@kata.realtime
@kata.check(
    "8 threads hammering one facade: every increment counted exactly once",
    group="behaviour",
    hint=4,
)
def test_facade_threads_consistent(submission):
    AsyncKV, created = _make_kv_class()
    SyncKV = submission.make_sync(AsyncKV)
    kv = _bounded(lambda: SyncKV("shared"), BOUND, 'SyncKV("shared")', "")
    try:
        seen: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def hammer() -> None:
            try:
                for _ in range(25):
                    v = kv.incr("hits")
                    with lock:
                        seen.append(v)
            except BaseException as exc:
                errors.append(exc)

        def run_all() -> None:
            threads = [threading.Thread(target=hammer) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        _bounded(run_all, HAMMER_BOUND, "8 threads each calling kv.incr('hits') 25 times", "")
        if errors:
            exc = errors[0]
            kata.fail(
                f"while 8 threads called the facade, one raised {type(exc).__name__}: {exc}. "
                "Every call, from any thread, must go to the one private loop "
                "(asyncio.run_coroutine_threadsafe)"
            )
        total = _bounded(lambda: kv.get("hits"), BOUND, 'kv.get("hits")', "")
        kata.expect(
            sorted(seen) == list(range(1, 201)) and total == 200,
            f"8 threads x 25 kv.incr('hits') returned {len(set(seen))} distinct values and left "
            f"hits = {total!r}; expected each of 1..200 exactly once and 200",
        )
        core = created[0]
        kata.expect(
            len(created) == 1 and len(core.loops) == 1 and len(core.threads) == 1,
            f"the calls from 8 threads reached {len(created)} core(s) on {len(core.loops)} "
            f"loop(s) in {len(core.threads)} thread(s); expected one core on one private loop",
        )
    finally:
        _close_facade(kv, "kv.close()")


# -- timing ----------------------------------------------------------------------


@kata.realtime
@kata.check(
    "8 threads each submitting sleep(0.2): about 0.2 s in all, not 1.6",
    group="timing",
    hint=1,
)
def test_concurrent_submits(submission):
    probe = Probe()
    with _loop_thread(submission) as lt:
        errors: list[BaseException] = []
        gate = threading.Barrier(8)

        def caller(i: int) -> None:
            try:
                gate.wait(BOUND)
                lt.submit(probe.sleeper(f"c{i}", SLEEP)).result(BOUND)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(BOUND + 1)
        took = time.monotonic() - t0
        if errors:
            exc = errors[0]
            if isinstance(exc, TimeoutError):
                kata.fail(
                    f"8 coroutines of {SLEEP:g} s submitted from 8 threads had not finished "
                    f"{BOUND:g} s later: use asyncio.run_coroutine_threadsafe(coro, loop), which "
                    "wakes the loop"
                )
            raise exc
        kata.expect(
            SLEEP - 0.01 <= took <= CONCURRENT_WITHIN,
            f"8 threads each submitting a {SLEEP:g} s sleep and waiting for it took {took:.3f} s; "
            f"expected about {SLEEP:g} s (at most {CONCURRENT_WITHIN:g}; one at a time would "
            "take 1.6 s): the coroutines must run concurrently on the one loop",
        )


@kata.realtime
@kata.check(
    "fut.cancel() on a submitted coroutine runs its finally within 0.1 s",
    group="timing",
    hint=3,
)
def test_future_cancel_reaches_remote(submission):
    probe = Probe()
    with _loop_thread(submission) as lt:
        fut = lt.submit(probe.sleeper("remote", 30))
        kata.expect(
            probe.started.wait(BOUND),
            f"the submitted coroutine had not started {BOUND:g} s later",
        )
        t0 = time.monotonic()
        fut.cancel()
        deadline = t0 + 1.0
        while "remote" not in probe.finally_at and time.monotonic() < deadline:
            time.sleep(0.005)
        at = probe.finally_at.get("remote")
        kata.expect(
            at is not None,
            "after fut.cancel() on the Future returned by submit(), the remote coroutine never "
            "ran its finally (waited 1 s): the concurrent Future must be chained to the task, so "
            "that cancelling one cancels the other (asyncio.run_coroutine_threadsafe does it)",
        )
        assert at is not None
        kata.expect(
            at - t0 <= CANCEL_WITHIN and "remote" in probe.cancelled,
            f"the remote coroutine ran its finally {at - t0:.3f} s after fut.cancel(); expected "
            f"within {CANCEL_WITHIN:g} s, by a CancelledError",
        )


@kata.realtime
@kata.check(
    "call(coro, timeout=0.1) gives up after about 0.1 s with TimeoutError",
    group="timing",
    hint=3,
)
def test_call_timeout_raises_in_time(submission):
    probe = Probe()
    with _loop_thread(submission) as lt:
        t0 = time.monotonic()
        try:
            _bounded(
                lambda: lt.call(probe.sleeper("slow", 30), timeout=TIMEOUT),
                BOUND,
                f"call(coro of 30 s, timeout={TIMEOUT:g})",
                "wait on the Future with a timeout: fut.result(timeout)",
            )
        except TimeoutError:
            took = time.monotonic() - t0
        else:
            kata.fail(
                f"call(coro of 30 s, timeout={TIMEOUT:g}) returned instead of raising TimeoutError"
            )
        kata.expect(
            TIMEOUT - 0.005 <= took <= TIMEOUT_WITHIN,
            f"call(coro of 30 s, timeout={TIMEOUT:g}) raised TimeoutError after {took:.3f} s; "
            f"expected about {TIMEOUT:g} s (at most {TIMEOUT_WITHIN:g})",
        )


# -- cancellation ----------------------------------------------------------------


@kata.realtime
@kata.check(
    "call(timeout=0.1): the remote coroutine is cancelled, not left running",
    group="cancellation",
    hint=3,
)
def test_call_timeout_cancels_remote(submission):
    probe = Probe()
    with _loop_thread(submission) as lt:
        try:
            _bounded(
                lambda: lt.call(probe.sleeper("slow", 30), timeout=TIMEOUT),
                BOUND,
                f"call(coro of 30 s, timeout={TIMEOUT:g})",
                "",
            )
        except TimeoutError:
            raised_at = time.monotonic()
        else:
            kata.fail(
                f"call(coro of 30 s, timeout={TIMEOUT:g}) returned instead of raising TimeoutError"
            )
        deadline = raised_at + 1.0
        while "slow" not in probe.finally_at and time.monotonic() < deadline:
            time.sleep(0.005)
        kata.expect(
            "slow" in probe.cancelled,
            f"1 s after call(timeout={TIMEOUT:g}) raised TimeoutError, the remote coroutine was "
            "still running: on timeout, cancel it (fut.cancel() on the Future from "
            "run_coroutine_threadsafe) before raising; a timed-out call must not leave work "
            "behind",
        )
        at = probe.finally_at["slow"]
        kata.expect(
            at - raised_at <= CANCEL_WITHIN,
            f"the timed-out coroutine was cancelled {at - raised_at:.3f} s after call() raised; "
            f"expected within {CANCEL_WITHIN:g} s",
        )


@kata.realtime
@kata.check(
    "stop() with 3 coroutines pending: they clean up, the thread ends, the loop closes",
    group="cancellation",
    hint=3,
)
def test_stop_cleans_up(submission):
    probe = Probe()
    lt = submission.LoopThread()
    lt.start()
    for i in range(3):
        lt.submit(probe.slow_cleanup(f"p{i}"))
    kata.expect(
        probe.started.wait(BOUND), f"the submitted coroutines had not started {BOUND:g} s later"
    )
    time.sleep(0.05)
    loop = probe.loop
    assert loop is not None
    logs = _watch_loop_logs(loop)
    threads = list(probe.threads.values())
    _bounded(
        lambda: lt.stop(),
        STOP_BOUND,
        "LoopThread.stop() with 3 coroutines pending",
        "cancel the pending tasks, run the loop until they finish, close the loop, join",
    )
    missing = sorted({f"p{i}" for i in range(3)} - probe.cleaned)
    kata.expect(
        not missing,
        f"when stop() returned, pending coroutine(s) {missing} had not finished their finally "
        "blocks (each awaits 0.05 s of cleanup): stop() must cancel pending tasks and keep the "
        "loop running until they are done (as asyncio.run does), not just stop the loop",
    )
    kata.expect(
        threads and not any(t.is_alive() for t in threads),
        "when stop() returned, the loop's thread was still alive: join it",
    )
    kata.expect(
        loop.is_closed(),
        "when stop() returned, the loop was not closed: close it (loop.close()) once the "
        "pending work is cleaned up",
    )
    gc.collect()
    kata.expect(
        not logs,
        f"stopping the LoopThread made asyncio log {_describe_logs(logs)}: a task destroyed "
        "while pending means the loop was closed (or dropped) before its tasks finished",
    )


@kata.realtime
@kata.check(
    "call() from the loop's own thread raises RuntimeError instead of deadlocking",
    group="cancellation",
    hint=2,
)
def test_call_from_loop_thread_raises(submission):
    probe = Probe()
    with _loop_thread(submission) as lt:

        async def inside() -> str:
            inner = probe.sleeper("inner", 0.01, result="inner")
            try:
                lt.call(inner, timeout=1.0)
            except RuntimeError as exc:
                return type(exc).__qualname__
            except BaseException as exc:
                return f"raised {type(exc).__name__}: {exc}"
            finally:
                if inspect.getcoroutinestate(inner) == inspect.CORO_CREATED:
                    inner.close()  # never scheduled: no "never awaited" warning
            return "returned"

        try:
            outcome = lt.submit(inside()).result(BOUND)
        except TimeoutError:
            kata.fail(
                "a coroutine on the loop calling lt.call(...) never finished: the loop thread "
                "blocked waiting for work only it can run"
            )
        kata.expect(
            outcome == "RuntimeError",
            f"LoopThread.call() from the loop's own thread {outcome if outcome != 'returned' else 'returned a result'}; "
            "it must raise RuntimeError at once: blocking the loop thread to wait for the loop "
            "deadlocks (or, with a timeout, freezes the loop). Compare threading.get_ident() with "
            "the loop thread's ident",
        )


@kata.realtime
@kata.check(
    "a facade method called inside a running loop raises RuntimeError",
    group="cancellation",
    hint=6,
)
async def test_facade_inside_running_loop_raises(submission):
    AsyncKV, created = _make_kv_class()
    SyncKV = submission.make_sync(AsyncKV)
    kv = await asyncio.wait_for(asyncio.to_thread(SyncKV, "async-test"), BOUND)
    try:
        t0 = time.monotonic()
        outcome = "returned"
        try:
            kv.set("k", 1)
        except RuntimeError as exc:
            outcome = type(exc).__qualname__
        except BaseException as exc:
            outcome = f"raised {type(exc).__name__}: {exc}"
        took = time.monotonic() - t0
        kata.expect(
            outcome == "RuntimeError",
            "inside an async function (a running event loop), the facade's kv.set('k', 1) "
            + ("returned" if outcome == "returned" else outcome)
            + "; it must raise RuntimeError: a blocking call there freezes the caller's loop, "
            "and deadlocks if the work needs that loop. Check asyncio.get_running_loop() first",
        )
        kata.expect(
            took <= 0.5,
            f"the facade took {took:.3f} s to refuse a call inside a running loop; refuse at once",
        )
    finally:
        await asyncio.wait_for(asyncio.to_thread(kv.close), STOP_BOUND)
