"""Hidden suite for exercise 13: run_steps and serve_for, driving a loop by hand.

Both functions are synchronous, so most checks are plain ``def`` checks that
inject ``Loops``, a ``loop_factory`` making loops on the grader's virtual clock
(each starts at loop time 0). The plugin's gates only wrap ``async def``
checks, so ``Harness`` applies their conditions here itself: nothing logged by
asyncio, no never-awaited coroutine, no task left pending on the loop.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from typing import Any

from grader import kata

T_LOW = 1e-9  # CURRICULUM.md "T=": [T - 1e-9, T + 0.01]
T_HIGH = 0.01


def _loop_time() -> float | None:
    """The running loop's time, or None outside a running loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return None


def _describe_logs(logs: list[dict[str, Any]]) -> str:
    parts = []
    for ctx in logs:
        exc = ctx.get("exception")
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        parts.append(f"{ctx.get('message', '')!r}{detail}")
    return "; ".join(parts)


class Loops:
    """A ``loop_factory``: virtual-clock loops, remembered with what asyncio logged on them."""

    def __init__(self) -> None:
        self.made: list[asyncio.AbstractEventLoop] = []
        self.logs: list[dict[str, Any]] = []

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = kata.virtual_loop()
        previous = loop.get_exception_handler()

        def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.logs.append(context)
            if previous is not None:
                previous(lp, context)
            else:
                lp.default_exception_handler(context)

        loop.set_exception_handler(handler)
        self.made.append(loop)
        return loop


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set as current in this thread, if any (after ``set_event_loop(None)``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None


class Harness:
    """Calls a synchronous API of the submission and watches what it leaves behind."""

    def __init__(self) -> None:
        self.loops = Loops()
        self.never_awaited: list[str] = []

    def call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        asyncio.set_event_loop(None)  # a known start: no current loop
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, loop_factory=self.loops)
            except Exception as exc:
                kata.fail(
                    f"{what} raised {type(exc).__name__}: {exc}"
                    if str(exc)
                    else f"{what} raised {type(exc).__name__}"
                )
            finally:
                gc.collect()  # a dropped task or coroutine speaks up now
                self.never_awaited = [
                    str(w.message) for w in caught if "was never awaited" in str(w.message)
                ]

    def expect_quiet(self, what: str) -> None:
        """Nothing logged by asyncio, no never-awaited coroutine, no task left pending."""
        kata.expect(
            not self.loops.logs,
            f"asyncio logged {_describe_logs(self.loops.logs)} during or after {what}: "
            + _log_hint(self.loops.logs),
        )
        kata.expect(
            not self.never_awaited,
            f"{self.never_awaited[0] if self.never_awaited else ''} during {what}: a coroutine "
            "object was created and dropped",
        )
        pending = [
            t.get_name()
            for loop in self.loops.made
            for t in asyncio.all_tasks(loop)
            if not t.done()
        ]
        kata.expect(
            not pending,
            f"after {what} returned, task(s) {pending} were still pending on its loop: cancel "
            "what is left and run the loop until it has finished",
        )

    def expect_closed_and_unset(self, what: str) -> None:
        made = self.loops.made
        kata.expect(
            len(made) == 1,
            f"{what} made {len(made)} loops with loop_factory(); it must make exactly one "
            "(call loop_factory() once, and use no other loop)",
        )
        kata.expect(
            made[0].is_closed(),
            f"the loop {what} made was not closed when it returned: call loop.close() at the "
            "end (in a `finally`)",
        )
        current = _current_loop()
        kata.expect(
            current is None,
            f"after {what} returned, {current!r} was left set as the current event loop: "
            "don't call asyncio.set_event_loop(loop), or set it back to None",
        )


def _log_hint(logs: list[dict[str, Any]]) -> str:
    text = _describe_logs(logs)
    if "never retrieved" in text:
        return "read every finished task's outcome with task.exception() (or task.result())"
    if "destroyed but it is pending" in text:
        return (
            "a task was still pending when the loop closed: cancel survivors, then run the loop "
            "until they have finished (e.g. run_until_complete(gather(..., return_exceptions=True)))"
        )
    return "a clean shutdown logs nothing"


def _report(submission: Any, report: Any, what: str) -> None:
    kata.expect(
        isinstance(report, submission.RunReport),
        f"{what} returned {report!r}; it must return a RunReport",
    )
    kata.expect(
        isinstance(report.outcomes, dict),
        f"{what} returned outcomes={report.outcomes!r}; it must be a dict of str to str",
    )


# -- services -----------------------------------------------------------------


def _finishing(
    delay: float, result: Any, log: dict[str, list[float | None]] | None = None, name: str = ""
) -> Callable[[], Any]:
    async def service() -> Any:
        if log is not None:
            log.setdefault(name, []).append(_loop_time())
        await asyncio.sleep(delay)
        if log is not None:
            log[name].append(_loop_time())
        return result

    return service


def _raising(delay: float, exc_type: type[Exception], message: str) -> Callable[[], Any]:
    async def service() -> Any:
        await asyncio.sleep(delay)
        # A fresh exception each run: the suite keeps no reference to it (nor to its
        # traceback), so a task whose exception nobody retrieved is freed, and logged, now.
        raise exc_type(message)

    return service


def _forever(rec: dict[str, float | None]) -> Callable[[], Any]:
    async def service() -> None:
        rec["started"] = _loop_time()
        try:
            while True:
                await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            rec["cancelled"] = _loop_time()
            raise
        finally:
            rec["finally_started"] = _loop_time()
            if rec["finally_started"] is not None:  # still on a running loop
                await asyncio.sleep(0.1)  # cleanup that takes time, e.g. a goodbye message
                rec["finally_done"] = _loop_time()

    return service


# -- behaviour ----------------------------------------------------------------


@kata.check(
    "run_steps: a Queue and consumer from step 1 are fed in step 2; the loop ends closed",
    group="behaviour",
    hint=1,
)
def test_steps_share_one_loop(submission):
    shared: dict[str, Any] = {}
    seen_loops: list[asyncio.AbstractEventLoop] = []

    async def step1() -> str:
        seen_loops.append(asyncio.get_running_loop())
        queue: asyncio.Queue[int | None] = asyncio.Queue()
        got: list[int] = []

        async def consume() -> int:
            while True:
                item = await queue.get()
                queue.task_done()
                if item is None:
                    return sum(got)
                got.append(item)

        shared.update(queue=queue, got=got, consumer=asyncio.ensure_future(consume()))
        return "ready"

    async def step2() -> list[int]:
        seen_loops.append(asyncio.get_running_loop())
        for item in (1, 2, 3):
            await shared["queue"].put(item)
        await shared["queue"].join()
        return list(shared["got"])

    async def step3() -> int:
        seen_loops.append(asyncio.get_running_loop())
        await shared["queue"].put(None)
        return await shared["consumer"]

    what = "run_steps([step1, step2, step3])"
    h = Harness()
    try:
        got = h.call(what, submission.run_steps, [step1, step2, step3])
    except kata.KataFailure as failure:
        raise kata.KataFailure(
            f"{failure}\n(step 1 creates an asyncio.Queue and a consumer task, step 2 feeds the "
            "queue: both must run on the same loop: one loop_factory() loop and "
            "loop.run_until_complete per step; asyncio.run per step makes a new loop each time)"
        ) from None
    kata.expect_equal(
        got,
        ["ready", [1, 2, 3], 6],
        what=what + " (step 1 starts a consumer, step 2 feeds it 1, 2, 3, step 3 ends it)",
        hint="return each step's result, in order",
    )
    kata.expect(
        len(seen_loops) == 3
        and all(lp is seen_loops[0] for lp in seen_loops)
        and bool(h.loops.made)
        and seen_loops[0] is h.loops.made[0],
        f"the steps of {what} did not all run on the one loop loop_factory() made",
    )
    h.expect_closed_and_unset(what)
    h.expect_quiet(what)


@kata.check("serve_for: services that finish report done:<repr>", group="behaviour", hint=2)
def test_finished_services_report_done(submission):
    services = {
        "fetch": _finishing(2.0, "ok"),
        "count": _finishing(0.5, 3),
        "ping": _finishing(0.0, None),
    }
    what = (
        "serve_for(5.0, {'fetch': returns 'ok' at 2.0 s, 'count': returns 3 at 0.5 s, "
        "'ping': returns None at once})"
    )
    h = Harness()
    report = h.call(what, submission.serve_for, 5.0, services)
    _report(submission, report, what)
    kata.expect_equal(
        dict(report.outcomes),
        {"fetch": "done:'ok'", "count": "done:3", "ping": "done:None"},
        what=what + " .outcomes",
        hint="a finished service reports f'done:{result!r}' (the repr, so a string keeps "
        "its quotes)",
    )
    h.expect_closed_and_unset(what)
    h.expect_quiet(what)


@kata.check("serve_for: a suspended async generator's finally runs", group="behaviour", hint=5)
def test_async_generator_finalized(submission):
    events: list[tuple[str, float | None]] = []
    kept: list[Any] = []

    async def ticks() -> Any:
        n = 0
        try:
            while True:
                yield n
                n += 1
        finally:
            events.append(("finally", _loop_time()))
            if _loop_time() is not None:
                await asyncio.sleep(0.1)  # e.g. closing a connection
                events.append(("finally done", _loop_time()))

    async def reader() -> int:
        gen = ticks()
        kept.append(gen)  # like a generator kept on an object: it stays suspended
        first = await gen.__anext__()
        await asyncio.sleep(0.5)
        return first

    what = "serve_for(5.0, {'reader': takes one item from an async generator, returns it})"
    h = Harness()
    try:
        report = h.call(what, submission.serve_for, 5.0, {"reader": reader})
        _report(submission, report, what)
        kata.expect_equal(
            report.outcomes.get("reader"), "done:0", what=what + " .outcomes['reader']"
        )
        kata.expect(
            any(kind == "finally done" for kind, _ in events),
            f"{what}: the async generator the service left suspended at `yield` "
            + (
                "started its `finally` but did not complete it (it awaits asyncio.sleep(0.1))"
                if events
                else "never ran its `finally`"
            )
            + ". Before closing the loop, run loop.run_until_complete(loop.shutdown_asyncgens())",
        )
        h.expect_quiet(what)
    finally:
        for gen in kept:  # never leave it for the garbage collector and a closed loop
            closing = gen.aclose()
            try:
                while True:
                    closing.send(None)
            except BaseException:  # StopIteration, or its finally failing
                pass


# -- timing -------------------------------------------------------------------


@kata.check("serve_for: stopped_at is the loop time of the stop (5.0)", group="timing", hint=3)
def test_stopped_at(submission):
    for duration, services, label in (
        (
            5.0,
            {"worker": _finishing(2.0, "ok"), "forever": _forever({})},
            "{'worker': 2 s, 'forever': never ends}",
        ),
        (1.5, {"forever": _forever({})}, "{'forever': never ends}"),
    ):
        what = f"serve_for({duration}, {label})"
        h = Harness()
        report = h.call(what, submission.serve_for, duration, services)
        _report(submission, report, what)
        stopped = report.stopped_at
        kata.expect(
            isinstance(stopped, float) and duration - T_LOW <= stopped <= duration + T_HIGH,
            f"{what} returned stopped_at={stopped!r}; it should be the loop's time when the loop "
            f"stopped, {duration}: schedule loop.call_later(duration, loop.stop) before "
            "run_forever() and read loop.time() right after it returns, before the cleanup "
            "(which takes loop time too)",
        )


@kata.check("serve_for: every service starts at once and runs concurrently", group="timing", hint=2)
def test_services_run_concurrently(submission):
    log: dict[str, list[float | None]] = {}
    services = {
        name: _finishing(delay, name, log, name)
        for name, delay in (("a", 1.0), ("b", 3.0), ("c", 2.0))
    }
    what = "serve_for(5.0, {'a': 1 s, 'b': 3 s, 'c': 2 s})"
    h = Harness()
    h.call(what, submission.serve_for, 5.0, services)
    for name, delay in (("a", 1.0), ("b", 3.0), ("c", 2.0)):
        times = log.get(name, [])
        kata.expect(
            len(times) == 2 and times[0] is not None and times[1] is not None,
            f"in {what}, service {name!r} did not run to its end on the loop",
        )
        start, end = times
        assert start is not None and end is not None
        kata.expect(
            -T_LOW <= start <= T_HIGH and delay - T_LOW <= end <= delay + T_HIGH,
            f"in {what}, service {name!r} ran from t={start:g} s to t={end:g} s; every service "
            f"should start at t=0 and this one end at t={delay:g} s: create all the tasks first, "
            "then run the loop",
        )


# -- cancellation and errors --------------------------------------------------


class ServiceDown(Exception):
    """A service's own error type."""


@kata.check(
    "serve_for: a service raising at 1.0 reports error:ValueError, with no log",
    group="cancellation",
    hint=2,
)
def test_failing_service_reports_error(submission):
    services = {
        "bad": _raising(1.0, ValueError, "bad input"),
        "down": _raising(0.5, ServiceDown, "gone"),
        "fine": _finishing(2.0, 7),
    }
    what = (
        "serve_for(5.0, {'bad': raises ValueError at 1.0 s, 'down': raises ServiceDown at "
        "0.5 s, 'fine': returns 7 at 2.0 s})"
    )
    h = Harness()
    report = h.call(what, submission.serve_for, 5.0, services)
    _report(submission, report, what)
    for name, expected in (
        ("bad", "error:ValueError"),
        ("down", "error:ServiceDown"),
        ("fine", "done:7"),
    ):
        kata.expect_equal(
            report.outcomes.get(name),
            expected,
            what=f"{what} .outcomes[{name!r}]",
            hint="a failed service reports f'error:{type(exc).__name__}', and one failure "
            "does not stop the other services",
        )
    h.expect_quiet(what)


@kata.check(
    "serve_for: a forever service reports cancelled, and its finally (awaiting 0.1 s) completes",
    group="cancellation",
    hint=4,
)
def test_forever_service_cancelled_and_cleaned_up(submission):
    rec: dict[str, float | None] = {}
    services = {"forever": _forever(rec), "worker": _finishing(2.0, "ok")}
    what = "serve_for(5.0, {'forever': never ends, 'worker': returns 'ok' at 2.0 s})"
    h = Harness()
    report = h.call(what, submission.serve_for, 5.0, services)
    _report(submission, report, what)
    kata.expect_equal(
        report.outcomes.get("forever"),
        "cancelled",
        what=f"{what} .outcomes['forever']",
        hint="a service still running at the stop is cancelled",
    )
    kata.expect(
        rec.get("cancelled") is not None,
        f"in {what}, the forever service never received its CancelledError on the loop: after "
        "the stop, cancel the survivors and run the loop again so the cancellation is delivered",
    )
    kata.expect(
        rec.get("finally_done") is not None,
        f"in {what}, the forever service's `finally` (which awaits asyncio.sleep(0.1)) "
        + (
            "started but never completed"
            if rec.get("finally_started") is not None
            else "never ran on the loop"
        )
        + ": after cancelling, run the loop until the cancelled tasks have finished, e.g. "
        "loop.run_until_complete(asyncio.gather(*survivors, return_exceptions=True))",
    )
    h.expect_quiet(what)


def _without_frames(exc: BaseException) -> BaseException:
    """Drop the tracebacks of ``exc`` and its chain, so objects its frames held can be collected."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        cur.__traceback__ = None
        cur = cur.__context__ or cur.__cause__
    return exc


@kata.check("both raise RuntimeError inside a running loop", group="cancellation", hint=6)
async def test_refuse_inside_running_loop(submission):
    called: list[str] = []

    async def noop() -> None:
        return None

    def step() -> Any:  # a factory that notes when it is called
        called.append("step")
        return noop()

    def service() -> Any:
        called.append("service")
        return noop()

    for what, call in (
        ("run_steps([step])", lambda f: submission.run_steps([step], loop_factory=f)),
        (
            "serve_for(1.0, {'svc': service})",
            lambda f: submission.serve_for(1.0, {"svc": service}, loop_factory=f),
        ),
    ):
        loops = Loops()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                call(loops)
            except BaseException as exc:  # judged below, once the warnings are in
                raised: BaseException | None = _without_frames(exc)
            else:
                raised = None
            # No gc.collect() here: on the loop thread it would trip the blocking gate.
            # Without the frames, a dropped coroutine is freed (and reported) at once.
        for w in caught:  # hand them on: the leak gate judges warnings too
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        dropped = [str(w.message) for w in caught if "was never awaited" in str(w.message)]
        try:
            if raised is not None:
                raise raised
        except RuntimeError as exc:
            kata.expect(
                type(exc) is RuntimeError,
                f"{what}, called while an event loop is running, raised "
                f"{type(exc).__name__}: {exc}; it must raise RuntimeError itself",
            )
        except Exception as exc:
            kata.fail(
                f"{what}, called while an event loop is running, raised "
                f"{type(exc).__name__}: {exc}; it must raise RuntimeError"
            )
        else:
            kata.fail(
                f"{what}, called while an event loop is running, returned; it must raise "
                "RuntimeError (check with asyncio.get_running_loop() first)"
            )
        kata.expect(
            not called,
            f"{what}, called while an event loop is running, called the {called[0] if called else ''} "
            "factory before raising: check for a running loop first, before making a loop or "
            "calling anything",
        )
        abandoned = [
            f"task {t.get_name()!r} left pending"
            for loop in loops.made
            for t in asyncio.all_tasks(loop)
            if not t.done()
        ]
        kata.expect(
            not dropped and not loops.logs and not abandoned,
            f"{what}, called while an event loop is running, raised RuntimeError only after "
            "starting work it then abandoned ("
            + "; ".join(dropped + [str(c.get("message")) for c in loops.logs] + abandoned)
            + "): check for a running loop first (asyncio.get_running_loop() succeeds), before "
            "making a loop, a coroutine or a task",
        )
