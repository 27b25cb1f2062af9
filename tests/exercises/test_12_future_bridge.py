"""Hidden suite for exercise 12: request_async over a callback-style legacy client.

Every check but one runs on the virtual clock with ``FakeClient``, whose
callbacks fire from loop timers or synchronously inside ``request()``. The
thread case is @realtime: a real worker thread calls back while the loop runs
in debug mode. That check is a plain ``def`` driving its own loop, because a
future set from a foreign thread in debug mode loses its wake-up callback and
would leave a task that can never finish (and a test runner that hangs on it).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

from grader import kata

CALL = "request_async"
EXACT = 1e-5  # CURRICULUM.md "exact": a few clock ticks


class LegacyError(Exception):
    """An error the fake legacy client reports through the callback."""


Plan = list[tuple[float | None, BaseException | None, str | None]]


class FakeClient:
    """A callback-style client living on the loop thread.

    ``plans`` maps each payload to the callback calls the client makes, as
    ``(delay, err, result)``: ``delay=None`` is a call made synchronously inside
    ``request()``, anything else a loop timer ``delay`` seconds after the
    request. Calls with the same delay are made back to back, in plan order, from
    one timer. An exception the callback raises is recorded, then let through
    (once the batch is done), as a real library would let it escape.
    """

    def __init__(self, plans: dict[str, Plan]) -> None:
        self.plans = plans
        self.ids: dict[str, int] = {}
        self.requests: list[tuple[float, str, int]] = []
        self.cancels: list[tuple[float, Any]] = []
        self.callback_errors: list[tuple[float, str, int, BaseException]] = []
        self._next_id = 7000

    def request(self, payload: str, callback: Callable[..., None]) -> int:
        loop = asyncio.get_running_loop()
        self._next_id += 1
        request_id = self._next_id
        self.ids[payload] = request_id
        self.requests.append((loop.time(), payload, request_id))
        batches: dict[float | None, list[tuple[int, Any, Any]]] = {}
        for n, (delay, err, result) in enumerate(self.plans[payload], 1):
            batches.setdefault(delay, []).append((n, err, result))
        for delay, calls in batches.items():
            if delay is not None:
                loop.call_later(delay, self._fire, payload, callback, calls)
        if None in batches:
            self._fire(payload, callback, batches[None])
        return request_id

    def cancel(self, request_id: int) -> None:
        self.cancels.append((asyncio.get_running_loop().time(), request_id))

    def _fire(
        self, payload: str, callback: Callable[..., None], calls: list[tuple[int, Any, Any]]
    ) -> None:
        first: BaseException | None = None
        for n, err, result in calls:
            try:
                callback(err, result)
            except BaseException as exc:
                self.callback_errors.append((asyncio.get_running_loop().time(), payload, n, exc))
                first = first or exc
        if first is not None:
            raise first


def _watch_logs(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    """Record what asyncio logs on ``loop`` (and still pass it on to the grader)."""
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
    parts = []
    for ctx in logs:
        exc = ctx.get("exception")
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        parts.append(f"{ctx.get('message', '')!r}{detail}")
    return "; ".join(parts)


def _describe_callback_errors(client: FakeClient) -> str:
    return "; ".join(
        f"call #{n} for {payload!r} at t={when:g} s raised {type(exc).__name__}: {exc}"
        for when, payload, n, exc in client.callback_errors
    )


# -- behaviour ----------------------------------------------------------------


@kata.check("each request returns its own reply", group="behaviour", hint=1)
async def test_each_request_gets_its_own_reply(submission):
    client = FakeClient(
        {
            "GET /a": [(3.0, None, "reply-a")],
            "GET /b": [(1.0, None, "reply-b")],
            "GET /c": [(2.0, None, "reply-c")],
        }
    )
    got = await asyncio.gather(
        submission.request_async(client, "GET /a"),
        submission.request_async(client, "GET /b"),
        submission.request_async(client, "GET /c"),
    )
    kata.expect_equal(
        got,
        ["reply-a", "reply-b", "reply-c"],
        what=f"gather of {CALL}(client, p) for 'GET /a', 'GET /b', 'GET /c' "
        "(replies after 3, 1 and 2 s)",
        hint="each call must return the reply its own callback delivered",
    )
    kata.expect(
        sorted(p for _, p, _ in client.requests) == ["GET /a", "GET /b", "GET /c"],
        f"the client saw the requests {[p for _, p, _ in client.requests]}; each call of "
        f"{CALL} should call client.request(payload, callback) exactly once",
    )


@kata.check("a callback fired synchronously inside request() works", group="behaviour", hint=1)
async def test_synchronous_callback(submission):
    client = FakeClient({"PING": [(None, None, "PONG")]})
    try:
        got = await asyncio.wait_for(submission.request_async(client, "PING"), 60)
    except TimeoutError:
        kata.fail(
            f"{CALL}(client, 'PING') never returned although the client called the callback "
            "synchronously, inside request(): create the future *before* calling "
            "client.request(...) and have the callback complete it"
        )
    kata.expect_equal(
        got,
        "PONG",
        what=f"{CALL}(client, 'PING') with the callback fired inside request()",
        hint="the reply arrives before request() even returns the id",
    )


@kata.check("extra callback calls are ignored, with nothing logged", group="behaviour", hint=2)
async def test_duplicate_callback_is_ignored(submission):
    loop = asyncio.get_running_loop()
    logs = _watch_logs(loop)
    boom = LegacyError("late failure")
    first_error = LegacyError("first failure")
    client = FakeClient(
        {
            # twice back to back on the loop thread, then an error 0.5 s later
            "twice": [(1.0, None, "first"), (1.0, None, "second"), (1.5, boom, None)],
            # twice, synchronously, inside request()
            "sync twice": [(None, None, "one"), (None, None, "two")],
            # an error first, then a result: the error counts
            "error then result": [(1.0, first_error, None), (1.2, None, "too late")],
        }
    )
    got = await submission.request_async(client, "twice")
    kata.expect_equal(
        got,
        "first",
        what=f"{CALL}(client, 'twice') with the callback called twice at t=1.0 s",
        hint="only the first call counts",
    )
    try:
        got = await submission.request_async(client, "sync twice")
    except Exception as exc:
        kata.fail(
            f"{CALL}(client, 'sync twice') raised {type(exc).__name__}: {exc} when the client "
            "called the callback twice inside request(): ignore the extra call "
            "(check fut.done() right before setting the result, on the loop thread)"
        )
    kata.expect_equal(
        got,
        "one",
        what=f"{CALL}(client, 'sync twice') with the callback called twice inside request()",
        hint="only the first call counts",
    )
    try:
        got = await submission.request_async(client, "error then result")
    except asyncio.InvalidStateError as exc:
        kata.fail(
            f"{CALL}(client, 'error then result') raised InvalidStateError: {exc} when the "
            "client called back a second time: ignore the extra call (check fut.done())"
        )
    except Exception:
        pass  # the first call's error counts (its identity is checked on its own)
    else:
        kata.fail(
            f"{CALL}(client, 'error then result') returned {got!r}; the first callback call "
            f"reported the error {first_error!r}, so that must be raised (later calls are ignored)"
        )
    await asyncio.sleep(1.0)  # let every late call happen
    kata.expect(
        not client.callback_errors,
        "your callback raised when the client called it again: "
        f"{_describe_callback_errors(client)}. Extra calls must be ignored: check "
        "fut.done() before set_result/set_exception (on the loop thread)",
    )
    kata.expect(
        not logs,
        f"asyncio logged {_describe_logs(logs)} after the client called the callback more "
        "than once: setting a future that is already done raises InvalidStateError; check "
        "fut.done() right before setting it, in the code that runs on the loop thread",
    )


class ThreadClient:
    """A client whose callback comes from a real worker thread after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.threads: list[threading.Thread] = []
        self.fired_at: float | None = None
        self.callback_errors: list[BaseException] = []
        self.cancels: list[Any] = []
        self.requested_at: float | None = None

    def request(self, payload: str, callback: Callable[..., None]) -> int:
        self.requested_at = time.monotonic()

        def work() -> None:
            time.sleep(self.delay)
            self.fired_at = time.monotonic()
            try:
                callback(None, f"reply to {payload}")
            except BaseException as exc:  # recorded: a library thread would just die
                self.callback_errors.append(exc)

        thread = threading.Thread(target=work, name="legacy-client-worker", daemon=True)
        self.threads.append(thread)
        thread.start()
        return 1

    def cancel(self, request_id: int) -> None:
        self.cancels.append(request_id)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(5)


async def _thread_case(
    submission: Any, client: ThreadClient
) -> tuple[asyncio.Task[Any], float | None]:
    task = asyncio.ensure_future(submission.request_async(client, "job"))
    done, _ = await asyncio.wait({task}, timeout=1.0)
    return task, (time.monotonic() if done else None)


@kata.realtime
@kata.check(
    "a callback from a worker thread is delivered within 0.2 s (debug mode)",
    group="behaviour",
    hint=4,
)
def test_worker_thread_callback(submission):
    loop = asyncio.new_event_loop()  # a real-time loop: this check is @realtime
    logs = _watch_logs(loop)
    loop.set_debug(True)
    client = ThreadClient(delay=0.05)
    task: asyncio.Task[Any] | None = None
    leftover: list[str] = []
    try:
        task, done_at = loop.run_until_complete(_thread_case(submission, client))
    finally:
        client.join()
        others = [t for t in asyncio.all_tasks(loop) if t is not task and not t.done()]
        leftover = [t.get_name() for t in others]
        for t in others:
            t.cancel()
        if others:
            loop.run_until_complete(asyncio.wait(others, timeout=1.0))
        if task is None or task.done():
            loop.run_until_complete(loop.shutdown_asyncgens())
        # else: the task can never finish (its wake-up was lost); abandon it.
        loop.set_debug(False)
        loop.close()
    if client.callback_errors:
        exc = client.callback_errors[0]
        kata.fail(
            f"when a worker thread called your callback, it raised {type(exc).__name__}: {exc}. "
            "A Future may only be touched on its loop's thread (asyncio's debug mode enforces "
            "it); from another thread, hand the result over with "
            "loop.call_soon_threadsafe(...)"
        )
    assert task is not None
    if done_at is None:
        kata.fail(
            f"{CALL}(client, 'job') had still not returned 1 s after a worker thread called "
            "the callback: a Future set from another thread does not wake the loop; use "
            "loop.call_soon_threadsafe(...) to hand the result over"
        )
    assert done_at is not None and client.fired_at is not None
    if task.cancelled():
        kata.fail(f"{CALL}(client, 'job') was cancelled although nobody cancelled it")
    exc = task.exception()
    if exc is not None:
        kata.fail(
            f"{CALL}(client, 'job') raised {type(exc).__name__}: {exc} when the callback came "
            "from a worker thread"
        )
    kata.expect_equal(
        task.result(),
        "reply to job",
        what=f"{CALL}(client, 'job') with the callback called from a worker thread",
    )
    latency = done_at - client.fired_at
    kata.expect(
        latency <= 0.2,
        f"the reply reached the caller {latency:.3f} s after the worker thread called the "
        "callback; it should take well under 0.2 s: are you polling, or setting the future "
        "from the worker thread (which does not wake the loop)?",
    )
    kata.expect(
        not leftover,
        f"{len(leftover)} task(s) were still running after {CALL} returned: {leftover}; "
        "every task you start must finish or be cancelled before you return",
    )
    gc.collect()
    kata.expect(
        not logs,
        f"asyncio logged {_describe_logs(logs)} while delivering a reply from a worker thread",
    )


# -- timing -------------------------------------------------------------------


@kata.check("replies after 1, 2 and 3 s arrive concurrently: 3.0 s", group="timing", hint=5)
async def test_three_requests_take_three_seconds(submission):
    client = FakeClient(
        {"one": [(1.0, None, "r1")], "two": [(2.0, None, "r2")], "three": [(3.0, None, "r3")]}
    )
    t0 = kata.now()
    await asyncio.gather(
        submission.request_async(client, "one"),
        submission.request_async(client, "two"),
        submission.request_async(client, "three"),
    )
    kata.expect_time(
        t0,
        3.0,
        what=f"gather of three {CALL} calls whose replies take 1, 2 and 3 s",
        hint="together they should take as long as the slowest, 3.0 s: does your code block "
        "the loop or wait for something other than the future?",
        too_fast="did you return before the callback delivered the reply?",
    )


@kata.check("each reply is delivered the instant its callback fires", group="timing", hint=5)
async def test_delivery_is_exact(submission):
    latencies = {"alpha": 0.321737, "beta": 1.073911, "gamma": 2.456153}
    plans: dict[str, Plan] = {p: [(d, None, f"re:{p}")] for p, d in latencies.items()}
    plans["now"] = [(None, None, "re:now")]
    client = FakeClient(plans)
    done_at: dict[str, float] = {}
    t0 = kata.now()

    async def timed(payload: str) -> None:
        await submission.request_async(client, payload)
        done_at[payload] = kata.now() - t0

    await asyncio.gather(*(timed(p) for p in ("alpha", "beta", "gamma", "now")))
    for payload, expected in [*latencies.items(), ("now", 0.0)]:
        took = done_at[payload]
        kata.expect(
            abs(took - expected) <= EXACT,
            f"{CALL}(client, {payload!r}) returned at t={took:.6f} s, but its callback fired at "
            f"t={expected:.6f} s"
            + (" (synchronously, inside request())" if payload == "now" else "")
            + ": it must return at that very instant; polling a result slot with "
            "asyncio.sleep(...) is always late, awaiting the future is not",
        )


# -- cancellation and errors --------------------------------------------------


@kata.check("an error is raised as the very same object", group="cancellation", hint=3)
async def test_error_is_the_same_object(submission):
    later = LegacyError("backend unavailable")
    at_once = ConnectionResetError("connection reset by peer")
    client = FakeClient({"later": [(1.0, later, None)], "at once": [(None, at_once, None)]})
    for payload, err, how in (
        ("later", later, "at t=1.0 s"),
        ("at once", at_once, "synchronously, inside request()"),
    ):
        try:
            got = await submission.request_async(client, payload)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            kata.expect(
                exc is err,
                f"{CALL}(client, {payload!r}) raised {type(exc).__name__}({exc}) when the "
                f"callback reported {err!r} {how}; it must raise that very exception object "
                "(fut.set_exception(err)), not a new or wrapped one",
            )
        else:
            kata.fail(
                f"{CALL}(client, {payload!r}) returned {got!r} although the callback reported "
                f"the error {err!r} {how}; the error must be raised"
            )


@kata.check(
    "a cancel at 0.5 s calls client.cancel once and propagates; a late callback logs nothing",
    group="cancellation",
    hint=6,
)
async def test_cancel_calls_client_cancel_once(submission):
    loop = asyncio.get_running_loop()
    logs = _watch_logs(loop)
    client = FakeClient({"slow": [(1.0, None, "late reply")]})
    t0 = kata.now()
    call = asyncio.ensure_future(submission.request_async(client, "slow"))
    await asyncio.sleep(0.5)
    call.cancel()
    try:
        got = await call
    except asyncio.CancelledError:
        pass
    else:
        kata.fail(
            f"{CALL}(client, 'slow') returned {got!r} after its caller was cancelled at "
            "t=0.5 s; the CancelledError must propagate (re-raise it after client.cancel)"
        )
    kata.expect_time(t0, 0.5, what=f"{CALL} finishing its cancellation", exact=True)
    await asyncio.sleep(1.0)  # the client still calls back, at t=1.0 s
    rid = client.ids.get("slow")
    kata.expect(
        bool(client.cancels),
        f"the caller of {CALL}(client, 'slow') was cancelled at t=0.5 s, but client.cancel "
        "was never called: catch CancelledError around `await fut`, call "
        "client.cancel(request_id), then re-raise",
    )
    kata.expect(
        len(client.cancels) == 1,
        f"client.cancel was called {len(client.cancels)} times ({client.cancels}); "
        "call it exactly once",
    )
    when, got_id = client.cancels[0]
    kata.expect(
        type(got_id) is int and got_id == rid,
        f"client.cancel was called with {got_id!r}; it needs the id client.request(...) "
        f"returned ({rid})",
    )
    kata.expect(
        abs(when - t0 - 0.5) <= EXACT,
        f"client.cancel was called at t={when - t0:g} s; it should be called when the "
        "cancellation arrives, at t=0.5 s",
    )
    kata.expect(
        not client.callback_errors,
        "the client's late callback (at t=1.0 s, after the cancel) raised: "
        f"{_describe_callback_errors(client)}. After a cancel the future is done "
        "(cancelled): check fut.done() before setting it",
    )
    kata.expect(
        not logs,
        f"asyncio logged {_describe_logs(logs)} when the client called back at t=1.0 s, "
        "after the caller was cancelled: ignore a callback that arrives when the future is "
        "already done (cancelled)",
    )
