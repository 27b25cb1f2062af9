"""Hidden suite for exercise 09: fetch_or_default and collect_until_idle.

Every check is on the virtual clock. Fetches are probes (they record their
cancellation and their ``finally``). Streams are either async generators that
yield at 0.2, 0.4 and 0.6 s after the call and then stall (or end, or raise),
or a stream *object* whose cancelled read leaves it open, like a network
stream: only ``aclose()`` closes it. "Cleaned up / closed before returning" is
judged in the very step the submission returns or raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from grader import kata
from grader.kata import strategies as st

FETCH = "fetch_or_default"
COLLECT = "collect_until_idle"
BIG = 100.0  # "large enough not to matter" for idle, and (from t=0) for deadline
ITEMS = ["item0", "item1", "item2"]
ENDS = "a stream yielding at 0.2, 0.4 and 0.6 s, then ending"


class _Default:
    """The default value: compared by identity."""

    def __repr__(self) -> str:
        return "<the default>"


# -- fetches --------------------------------------------------------------------


def _slow_cleanup_fetch(probes: kata.Probes, delay: float, cleanup: float) -> Any:
    """A fetch of ``delay`` s whose cancellation cleanup takes ``cleanup`` s."""

    async def run() -> str:
        async with probes.span("fetch") as rec:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                rec.cancelled = asyncio.get_running_loop().time()
                await asyncio.sleep(cleanup)  # e.g. telling the server we gave up
                raise
            return "result-fetch"

    return run


# -- streams --------------------------------------------------------------------


def _gen(
    probes: kata.Probes, *, end: str | BaseException = "stall", count: int = 3, name: str = "stream"
) -> AsyncIterator[str]:
    """An async generator: ``count`` items 0.2 s apart, then ``end``.

    ``end`` is "stall" (never another item), "end" (the stream ends at once) or
    an exception raised 0.1 s after the last item.
    """

    async def gen() -> AsyncIterator[str]:
        async with probes.span(name):
            for i in range(count):
                await asyncio.sleep(0.2)
                yield f"item{i}"
            if end == "stall":
                await asyncio.Event().wait()
            elif isinstance(end, BaseException):
                await asyncio.sleep(0.1)
                raise end

    return gen()


class _StreamObject:
    """A stream object, like a network stream: items 0.2 s apart, then ``end``.

    A cancelled read leaves it open (the next read waits for the same item);
    only ``aclose()`` closes it.
    """

    def __init__(self, *, end: str | BaseException = "stall", count: int = 3) -> None:
        start = asyncio.get_running_loop().time()
        self._due = [start + 0.2 * (i + 1) for i in range(count)]
        self._end_at = start + 0.2 * count + 0.1
        self._end = end
        self._next = 0
        self.closed_at: float | None = None

    def __aiter__(self) -> _StreamObject:
        return self

    async def __anext__(self) -> str:
        loop = asyncio.get_running_loop()
        if self.closed_at is not None:
            raise StopAsyncIteration
        if self._next < len(self._due):
            await asyncio.sleep(max(0.0, self._due[self._next] - loop.time()))
            self._next += 1
            return f"item{self._next - 1}"
        if self._end == "stall":
            await asyncio.Event().wait()
        if isinstance(self._end, BaseException):
            await asyncio.sleep(max(0.0, self._end_at - loop.time()))
            raise self._end
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if self.closed_at is None:
            self.closed_at = asyncio.get_running_loop().time()


# -- helpers --------------------------------------------------------------------


def _check_collected(
    submission: Any, got: Any, items: list[str], reason: str, what: str, hint: str
) -> None:
    kata.expect(
        isinstance(got, submission.Collected),
        f"{what} returned {got!r}; expected a Collected(items=..., reason=...)",
    )
    if got.reason != reason or got.items != items:
        kata.fail(
            f"{what} returned Collected(items={got.items!r}, reason={got.reason!r}); expected "
            f"Collected(items={items!r}, reason={reason!r}): {hint}"
        )
    kata.expect_equal(got.items, items, what=f"{what}.items", hint="a list of the items, in order")
    kata.expect_equal(got.reason, reason, what=f"{what}.reason")


async def _collect(submission: Any, stream: Any, *, idle: float, deadline: float) -> Any:
    return await submission.collect_until_idle(stream, idle=idle, deadline=deadline)


def _stalls(what: str = "") -> str:
    return f"a stream yielding at 0.2, 0.4 and 0.6 s, then stalling{what}"


# -- fetch_or_default: behaviour ----------------------------------------------------


@kata.check("fetch_or_default: a fetch in time returns its result", group="behaviour", hint=1)
async def test_fetch_returns_result(submission, probes):
    got = await submission.fetch_or_default(
        probes.job(1.0, name="fetch"), timeout=2.0, default=_Default()
    )
    kata.expect_equal(
        got,
        "result-fetch",
        what=f"{FETCH}(a 1.0 s fetch, timeout=2.0)",
        hint="a fetch that finishes within the timeout gives its own result",
    )


@kata.check("fetch_or_default: a slow fetch gives the default", group="behaviour", hint=1)
async def test_fetch_returns_default(submission, probes):
    default = _Default()
    got = await submission.fetch_or_default(
        probes.job(3.0, name="fetch"), timeout=2.0, default=default
    )
    kata.expect(
        got is default,
        f"{FETCH}(a 3.0 s fetch, timeout=2.0, default=<the default>) returned {got!r}; expected "
        "the very default object it was given, once the timeout passed",
    )


# -- collect_until_idle: behaviour ----------------------------------------------------


@kata.check(
    'collect_until_idle: a stream that goes quiet stops as "idle" with every item',
    group="behaviour",
    hint=3,
)
async def test_idle_stops_collection(submission, probes):
    got = await _collect(submission, _gen(probes), idle=0.5, deadline=BIG)
    _check_collected(
        submission,
        got,
        ITEMS,
        "idle",
        f"{COLLECT}({_stalls()}, idle=0.5, deadline=100.0)",
        "the idle limit counts from the previous item (0.6 s), so it stops at 1.1 s with all "
        "three; a single timeout(idle) that is never rescheduled stops at 0.5 s",
    )


@kata.check(
    'collect_until_idle: the deadline stops collection as "deadline"', group="behaviour", hint=4
)
async def test_deadline_stops_collection(submission, probes):
    got = await _collect(submission, _gen(probes), idle=BIG, deadline=0.5)
    _check_collected(
        submission,
        got,
        ITEMS[:2],
        "deadline",
        f"{COLLECT}({_stalls()}, idle=100.0, deadline=0.5)",
        "at the deadline (loop time 0.5) two items have arrived; report 'deadline' when it was "
        "the deadline that stopped you",
    )


@kata.check('collect_until_idle: a stream that ends gives "exhausted"', group="behaviour", hint=3)
async def test_exhausted_stream(submission, probes):
    got = await _collect(submission, _gen(probes, end="end"), idle=BIG, deadline=BIG)
    _check_collected(
        submission,
        got,
        ITEMS,
        "exhausted",
        f"{COLLECT}({ENDS}, idle=100.0, deadline=100.0)",
        "when the stream ends (StopAsyncIteration, the end of `async for`) the reason is "
        "'exhausted'",
    )


@kata.check("collect_until_idle: the deadline is an absolute loop time", group="behaviour", hint=4)
async def test_deadline_is_absolute(submission, probes):
    await asyncio.sleep(10.0)
    t0 = kata.now()
    got = await _collect(submission, _gen(probes), idle=BIG, deadline=t0 + 0.5)
    what = f"{COLLECT}({_stalls()}, idle=100.0, deadline=10.5), called at loop time 10.0"
    _check_collected(
        submission,
        got,
        ITEMS[:2],
        "deadline",
        what,
        "`deadline` is a loop time (10.5 means 0.5 s after this call started at 10.0), not a "
        "number of seconds from now: use it as it is (timeout_at), don't add loop.time() to it",
    )
    kata.expect_time(
        t0,
        0.5,
        what=what,
        hint="the deadline 10.5 is a loop time: it comes 0.5 s after the call; did you treat it "
        "as a number of seconds from now?",
    )


# -- timing ---------------------------------------------------------------------------


@kata.check(
    "fetch_or_default: a fetch in time returns as soon as it is done (1.0 s)",
    group="timing",
    hint=1,
)
async def test_fetch_result_in_time(submission, probes):
    t0 = kata.now()
    await submission.fetch_or_default(
        probes.job(1.0, name="fetch"), timeout=2.0, default=_Default()
    )
    kata.expect_time(
        t0,
        1.0,
        what=f"{FETCH}(a 1.0 s fetch, timeout=2.0)",
        hint="return as soon as the fetch is done; don't sleep for the whole timeout first",
    )


@kata.check(
    "fetch_or_default: the default comes when the timeout passes (2.0 s)", group="timing", hint=1
)
async def test_fetch_default_in_time(submission, probes):
    t0 = kata.now()
    await submission.fetch_or_default(
        probes.job(3.0, name="fetch"), timeout=2.0, default=_Default()
    )
    kata.expect_time(
        t0,
        2.0,
        what=f"{FETCH}(a 3.0 s fetch, timeout=2.0)",
        hint="give up after the timeout (2.0 s) instead of waiting for the fetch (3.0 s)",
        too_fast="the default must come once the timeout has passed, not before",
    )


@kata.check(
    'collect_until_idle: "idle" comes 0.5 s after the last item (1.1 s)', group="timing", hint=3
)
async def test_idle_time(submission, probes):
    t0 = kata.now()
    await _collect(submission, _gen(probes), idle=0.5, deadline=BIG)
    kata.expect_time(
        t0,
        1.1,
        what=f"{COLLECT}({_stalls()}, idle=0.5, deadline=100.0)",
        hint="the idle limit restarts at each item: the last one came at 0.6 s, so stop at 1.1 s; "
        "reschedule the timeout after every item (cm.reschedule)",
        too_fast="the idle limit restarts at each item: the last one came at 0.6 s, so stop at "
        "1.1 s, not 0.5 s after the start; reschedule the timeout after every item",
    )


@kata.check('collect_until_idle: "deadline" comes at the deadline (0.5 s)', group="timing", hint=4)
async def test_deadline_time(submission, probes):
    t0 = kata.now()
    await _collect(submission, _gen(probes), idle=BIG, deadline=0.5)
    kata.expect_time(
        t0,
        0.5,
        what=f"{COLLECT}({_stalls()}, idle=100.0, deadline=0.5)",
        hint="stop exactly at the deadline, even while waiting for an item: the limit of each "
        "wait is min(last item + idle, deadline)",
    )


@kata.check(
    'collect_until_idle: "exhausted" comes when the stream ends (0.6 s)', group="timing", hint=3
)
async def test_exhausted_time(submission, probes):
    t0 = kata.now()
    await _collect(submission, _gen(probes, end="end"), idle=BIG, deadline=BIG)
    kata.expect_time(
        t0,
        0.6,
        what=f"{COLLECT}({ENDS}, idle=100.0, deadline=100.0)",
        hint="return as soon as the stream ends",
    )


# -- cancellation and errors -------------------------------------------------------------


@kata.check(
    "fetch_or_default: the slow fetch is cancelled and cleaned up before the default is returned",
    group="cancellation",
    hint=1,
)
async def test_fetch_cancelled_before_default(submission, probes):
    await submission.fetch_or_default(
        probes.job(3.0, name="fetch"), timeout=2.0, default=_Default()
    )
    rec = probes.get("fetch")
    done_at_return = rec.finally_at is not None  # read in the very step the call returned
    what = f"{FETCH}(a 3.0 s fetch, timeout=2.0)"
    if not done_at_return:
        for _ in range(3):  # same loop time: tells "cancelled, not awaited" from "not cancelled"
            await asyncio.sleep(0)
        kata.expect(
            rec.cancelled is None,
            f"{what} returned the default before the fetch had finished its cleanup (its "
            "`finally` ran only after you returned): task.cancel() only asks; wait for the "
            "cancelled fetch to finish (wait_for does) before returning",
        )
        kata.fail(
            f"{what} returned the default without cancelling the fetch, which was still "
            "running: a timed-out fetch must be cancelled (wait_for and asyncio.timeout do it)"
        )
    kata.expect(
        rec.cancelled is not None,
        f"{what} returned the default, but the fetch was never cancelled"
        + (f" (it ran on and finished at t={rec.ended:g} s)" if rec.ended is not None else "")
        + ": a timed-out fetch must be cancelled (wait_for and asyncio.timeout do it)",
    )


@kata.check(
    "fetch_or_default: a fetch needing 0.3 s to clean up makes the default come at 2.3 s",
    group="cancellation",
    hint=1,
)
async def test_fetch_waits_for_slow_cleanup(submission, probes):
    default = _Default()
    what = f"{FETCH}(a 3.0 s fetch whose cancellation cleanup takes 0.3 s, timeout=2.0)"
    t0 = kata.now()
    got = await submission.fetch_or_default(
        _slow_cleanup_fetch(probes, 3.0, 0.3), timeout=2.0, default=default
    )
    rec = probes.get("fetch")
    kata.expect(
        rec.finally_at is not None,
        f"{what} returned at t={kata.now() - t0:g} s while the fetch was still cleaning up: wait "
        "until the cancelled fetch has finished (wait_for does) before returning the default",
    )
    kata.expect(got is default, f"{what} returned {got!r}; expected the default")
    kata.expect_time(
        t0,
        2.3,
        what=what,
        hint="the default comes once the cancelled fetch has finished its cleanup",
        too_fast="the cancelled fetch needs 0.3 s to clean up: wait for it before returning",
    )


@kata.check("fetch_or_default: an error of the fetch propagates", group="cancellation", hint=2)
async def test_fetch_error_propagates(submission, probes):
    boom = ValueError("fetch failed")
    what = f"{FETCH}(a fetch raising ValueError at 0.5 s, timeout=2.0)"
    try:
        got = await submission.fetch_or_default(
            probes.job(0.5, exc=boom, name="fetch"), timeout=2.0, default=_Default()
        )
    except ValueError as exc:
        kata.expect(
            exc is boom,
            f"{what} raised {exc!r}; expected the fetch's very exception object",
        )
    except Exception as exc:
        kata.fail(f"{what} raised {exc!r}; expected the fetch's ValueError, unchanged")
    else:
        kata.fail(
            f"{what} returned {got!r}; the error must propagate: only a timeout gives the "
            "default (catch TimeoutError, not Exception)"
        )


@kata.check(
    "fetch_or_default: a cancel of the caller propagates and cancels the fetch",
    group="cancellation",
    hint=2,
)
async def test_fetch_caller_cancel(submission, probes):
    what = f"{FETCH}(a 3.0 s fetch, timeout=2.0), cancelled at t=0.5 s"
    seen: dict[str, Any] = {}

    async def caller() -> Any:
        try:
            return await submission.fetch_or_default(
                probes.job(3.0, name="fetch"), timeout=2.0, default=_Default()
            )
        except BaseException:
            seen["finally_at"] = probes.get("fetch").finally_at  # in the very step it left
            raise

    call = asyncio.ensure_future(caller())
    await asyncio.sleep(0.5)
    call.cancel()
    try:
        got = await call
    except asyncio.CancelledError:
        pass
    except BaseException as exc:
        kata.fail(f"{what} raised {exc!r}; expected CancelledError to propagate")
    else:
        kata.fail(
            f"{what} returned {got!r}; a cancel of the caller is not a timeout: let the "
            "CancelledError propagate (catch only TimeoutError)"
        )
    if seen.get("finally_at") is None:
        for _ in range(3):  # same loop time: tells "cancelled, not awaited" from "not cancelled"
            await asyncio.sleep(0)
        kata.expect(
            probes.get("fetch").cancelled is None,
            f"{what}: the CancelledError reached the caller before the cancelled fetch had "
            "finished its cleanup: wait for it (wait_for and asyncio.timeout do)",
        )
        kata.fail(
            f"{what}: the fetch was not cancelled with the caller and kept running: a cancel "
            "of the caller must cancel the fetch too"
        )


@kata.check(
    "collect_until_idle: the stream's own TimeoutError propagates", group="cancellation", hint=5
)
async def test_stream_timeout_error_propagates(submission, probes):
    err = TimeoutError("the stream's upstream timed out")
    what = (
        f"{COLLECT}(a stream yielding at 0.2 s, then raising its own TimeoutError at 0.3 s, "
        "idle=100.0, deadline=100.0)"
    )
    try:
        got = await _collect(submission, _gen(probes, count=1, end=err), idle=BIG, deadline=BIG)
    except TimeoutError as exc:
        kata.expect(
            exc is err,
            f"{what} raised {exc!r}; expected the stream's very TimeoutError, unchanged",
        )
    except Exception as exc:
        kata.fail(f"{what} raised {exc!r}; expected the stream's TimeoutError, unchanged")
    else:
        shown = (
            f"Collected(items={got.items!r}, reason={got.reason!r})"
            if isinstance(got, submission.Collected)
            else repr(got)
        )
        kata.fail(
            f"{what} returned {shown}; the TimeoutError came from the stream, not from your "
            "timeout: check cm.expired() and re-raise when your own timeout did not fire"
        )


@kata.check(
    "collect_until_idle: the stream is closed before returning, whatever the outcome",
    group="cancellation",
    hint=6,
)
async def test_stream_closed_before_return(submission, probes):
    loop = asyncio.get_running_loop()
    cases = [
        ("goes idle", "stall", 0.5, BIG),
        ("reaches the deadline", "stall", BIG, 0.5),
        ("ends", "end", BIG, BIG),
        ("raises ValueError", "error", BIG, BIG),
    ]
    for kind in ("generator", "object"):
        for n, (label, end, idle, rel_deadline) in enumerate(cases):
            name = f"stream{kind}{n}"
            end_value: str | BaseException = ValueError("stream broke") if end == "error" else end
            stream: Any = (
                _gen(probes, end=end_value, name=name)
                if kind == "generator"
                else _StreamObject(end=end_value)
            )
            deadline = loop.time() + rel_deadline
            try:
                await _collect(submission, stream, idle=idle, deadline=deadline)
            except Exception:
                if end != "error":
                    raise  # only the failing stream may make the call raise (any way it likes)
            # Read in the very step the call returned or raised.
            closed = (
                probes.get(name).finally_at is not None
                if kind == "generator"
                else stream.closed_at is not None
            )
            what = (
                f"{COLLECT}(an async generator that {label})"
                if kind == "generator"
                else f"{COLLECT}(a stream object that {label}; a cancelled read leaves it open)"
            )
            kata.expect(
                closed,
                f"{what} returned without closing the stream: its cleanup had not run when your "
                "function returned. Always `await stream.aclose()` before returning or raising "
                "(try/finally, or `async with contextlib.aclosing(stream):`)",
            )


@kata.check(
    "collect_until_idle: a cancel of the caller propagates and closes the stream",
    group="cancellation",
    hint=6,
)
async def test_collect_caller_cancel(submission, probes):
    for kind in ("generator", "object"):
        name = f"stream-{kind}"
        stream: Any = _gen(probes, name=name) if kind == "generator" else _StreamObject()
        what = (
            f"{COLLECT}({'an async generator' if kind == 'generator' else 'a stream object'} "
            "yielding at 0.2, 0.4 and 0.6 s, then stalling, idle=100.0, deadline 100 s away), "
            "cancelled 0.5 s in"
        )
        seen: dict[str, Any] = {}

        async def caller(
            stream: Any = stream, name: str = name, kind: str = kind, seen: dict[str, Any] = seen
        ) -> Any:
            try:
                return await submission.collect_until_idle(
                    stream, idle=BIG, deadline=kata.now() + BIG
                )
            except BaseException:
                # In the very step the exception left the submission.
                seen["closed"] = (
                    probes.get(name).finally_at is not None
                    if kind == "generator"
                    else stream.closed_at is not None
                )
                raise

        t0 = kata.now()
        call = asyncio.ensure_future(caller())
        await asyncio.sleep(0.5)
        call.cancel()
        try:
            got = await call
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            kata.fail(f"{what} raised {exc!r}; expected CancelledError to propagate")
        else:
            kata.fail(
                f"{what} returned {got!r}; a cancel of the caller must propagate as "
                "CancelledError (it is neither 'idle' nor 'deadline')"
            )
        kata.expect_time(
            t0,
            0.5,
            what=f"{what}, until the CancelledError arrived",
            hint="the cancellation should come back at once",
        )
        kata.expect(
            seen.get("closed"),
            f"{what}: the CancelledError left your function before the stream was closed; "
            "close it in a `finally:` (await stream.aclose()) so a cancel closes it too",
        )


# -- instruments: a property over planned streams, and a cancellation sweep ----------------


async def _hops() -> None:
    """Two loop steps at the same instant (see the cancellation sweep)."""
    for _ in range(2):
        await asyncio.sleep(0)


class _PlannedStream:
    """A stream object yielding after each gap, then ending, stalling or raising ``end``.

    Like ``_StreamObject``, a cancelled read leaves it open; only ``aclose()`` closes it.
    With ``hop``, an item is handed over two loop steps after its instant (see the sweep).
    """

    def __init__(
        self, gaps: list[float], end: str | BaseException, end_gap: float, *, hop: bool = False
    ) -> None:
        loop = asyncio.get_running_loop()
        self._hop = hop
        due, at = [], loop.time()
        for gap in gaps:
            at += gap
            due.append(at)
        self._due = due
        self._end_at = at + end_gap
        self._end = end
        self._next = 0
        self.closed_at: float | None = None

    def __aiter__(self) -> _PlannedStream:
        return self

    async def __anext__(self) -> str:
        loop = asyncio.get_running_loop()
        if self.closed_at is not None:
            raise StopAsyncIteration
        if self._next < len(self._due):
            await asyncio.sleep(max(0.0, self._due[self._next] - loop.time()))
            if self._hop:
                await _hops()
            self._next += 1
            return f"item{self._next - 1}"
        if self._end == "stall":
            await asyncio.Event().wait()
        await asyncio.sleep(max(0.0, self._end_at - loop.time()))
        if isinstance(self._end, BaseException):
            raise self._end
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if self.closed_at is None:
            self.closed_at = asyncio.get_running_loop().time()


class _Closed:
    """When an async generator's ``finally`` ran (None while it is open)."""

    at: float | None = None


def _planned_gen(
    gaps: list[float], end: str | BaseException, end_gap: float, closed: _Closed
) -> AsyncIterator[str]:
    async def gen() -> AsyncIterator[str]:
        try:
            for i, gap in enumerate(gaps):
                await asyncio.sleep(gap)
                yield f"item{i}"
            if end == "stall":
                await asyncio.Event().wait()
            await asyncio.sleep(end_gap)
            if isinstance(end, BaseException):
                raise end
        finally:
            closed.at = asyncio.get_running_loop().time()

    return gen()


def _oracle(
    gaps: list[float], end: str, end_gap: float, idle: float, deadline: float
) -> tuple[float, int, set[str]]:
    """When collect_until_idle must stop (relative to its start), with how many items, and why.

    The reasons are "exhausted", "raise" (the stream's own TimeoutError) or the
    timeouts; when the idle limit and the deadline fall on one instant, either
    reason is right (left open by the curriculum).
    """
    last, count = 0.0, 0
    at = 0.0
    for gap in gaps:
        at += gap
        limit = min(last + idle, deadline)
        if at > limit:
            break
        last, count = at, count + 1
    else:
        limit = min(last + idle, deadline)
        end_at = last + end_gap if end != "stall" else float("inf")
        if end_at <= limit:
            return end_at, count, {"exhausted" if end == "end" else "raise"}
    reasons = set()
    if last + idle <= deadline:
        reasons.add("idle")
    if deadline <= last + idle:
        reasons.add("deadline")
    return min(last + idle, deadline), count, reasons


@kata.check(
    "collect_until_idle: items, reason and instant match the rules for planned streams "
    "(property, 50 plans, each as a generator and as a stream object)",
    group="behaviour",
    hint=3,
)
def test_collect_matches_the_rules(submission):

    # Items arrive on quarter seconds; the idle limit is an odd number of eighths and
    # the deadline an odd number of sixteenths after some item (or the start): no limit
    # ever falls on an item's instant, and the two limits never fall on one instant.
    idles = [1.125, 0.875, 0.625, 0.375, BIG]

    def plan(raw: tuple[Any, ...]) -> tuple[Any, ...]:
        gaps, end, end_gap, idle, (after, k) = raw
        deadline = BIG if after > len(gaps) else sum(gaps[:after]) + k / 8 + 1 / 16
        return gaps, end, end_gap, idles[idle], deadline

    plans = (
        st.tuples(
            st.lists(st.integers(1, 4).map(lambda q: q / 4), min_size=1, max_size=8),  # gaps
            st.sampled_from(["stall", "end", "timeout"]),  # how the stream ends
            st.integers(1, 6).map(lambda q: q / 4),  # the gap before it ends
            st.integers(0, len(idles) - 1),  # idle
            st.tuples(st.integers(0, 9), st.integers(0, 7)),  # deadline: after item, sixteenths
        )
        .map(plan)
        .filter(lambda p: p[1] != "stall" or min(p[3], p[4]) < BIG)
    )

    async def run(plan: tuple[Any, ...], kind: str) -> str | None:
        gaps, end, end_gap, idle, rel_deadline = plan
        await asyncio.sleep(1.0)  # the deadline is a loop time, not seconds from the call
        err = TimeoutError("the stream's own timeout")
        end_value: str | BaseException = err if end == "timeout" else end
        closed = _Closed()
        stream: Any = (
            _planned_gen(gaps, end_value, end_gap, closed)
            if kind == "generator"
            else _PlannedStream(gaps, end_value, end_gap)
        )
        t0 = kata.now()
        when, count, reasons = _oracle(gaps, end, end_gap, idle, rel_deadline)
        items = [f"item{i}" for i in range(count)]
        try:
            got = await submission.collect_until_idle(stream, idle=idle, deadline=t0 + rel_deadline)
        except TimeoutError as exc:
            if "raise" not in reasons or exc is not err:
                return f"it raised {exc!r} after {kata.seconds(kata.now() - t0)}; " + (
                    "expected the stream's own TimeoutError, unchanged"
                    if "raise" in reasons
                    else f"expected Collected(items={items!r}, reason="
                    + " or ".join(repr(r) for r in sorted(reasons))
                    + f") after {kata.seconds(when)}"
                )
            got = None
        took = kata.now() - t0
        is_closed = (closed.at if kind == "generator" else stream.closed_at) is not None
        if got is not None:
            if "raise" in reasons:
                return (
                    f"it returned {got!r}; the stream raised its own TimeoutError after "
                    f"{kata.seconds(when)}, which must propagate (check cm.expired())"
                )
            if not isinstance(got, submission.Collected):
                return f"it returned {got!r}; expected a Collected(items=..., reason=...)"
            if got.items != items or got.reason not in reasons:
                return (
                    f"it returned Collected(items={got.items!r}, reason={got.reason!r}); "
                    f"expected Collected(items={items!r}, reason="
                    + " or ".join(repr(r) for r in sorted(reasons))
                    + "): the idle limit counts from the previous item (or the start), the "
                    "deadline is an absolute loop time, and the reason is the limit that "
                    "actually stopped the collection"
                )
        if not when - 1e-9 <= took <= when + 0.01:
            return (
                f"it ended after {kata.seconds(took)}; it should end after "
                f"{kata.seconds(when)}, when the first limit (idle after the last item, or the "
                "deadline) passed or the stream ended"
            )
        if not is_closed:
            return "it ended without closing the stream: always `await stream.aclose()`"
        return None

    async def check(plan: tuple[Any, ...]) -> str | None:
        for kind in ("generator", "object"):
            problem = await run(plan, kind)
            if problem is not None:
                stream = "an async generator" if kind == "generator" else "a stream object"
                return f"with {stream}, {problem}"
        return None

    kata.forall(
        plans,
        check,
        what=f"{COLLECT}(a stream planned as (gaps between items, how it ends, the gap before "
        "that, idle, deadline counted from the call's start))",
        examples=50,
    )


@kata.check(
    "cancellation sweep: a cancel at any instant of either function propagates and closes "
    "the stream",
    group="cancellation",
    hint=6,
)
async def test_cancellation_sweep(submission, probes):
    # Per run: was each stream closed in the very step the call ended?
    left_open: dict[int, list[str]] = {}

    # The streams hand each item over two loop steps after its instant, so a cancel
    # landing at that instant reaches the caller before the read completes. On 3.11,
    # asyncio.wait_for swallows a cancel when its awaitable finishes between the
    # cancel and wait_for's wake-up (bpo-42130, fixed in 3.12): a learner's per-item
    # wait_for must not be blamed for that.
    async def _hopping_gen(runs: kata.Probes, name: str) -> AsyncIterator[str]:
        async with runs.span(name):
            for i in range(3):
                await asyncio.sleep(0.2)
                await _hops()
                yield f"item{i}"
            await asyncio.Event().wait()

    async def call(runs: kata.Probes, label: str, stream: Any, is_closed: Any, **kw: float) -> Any:
        try:
            return await submission.collect_until_idle(stream, **kw)
        finally:
            if not is_closed():
                left_open[id(runs)].append(label)

    async def scenario(runs: kata.Probes) -> None:
        left_open[id(runs)] = []
        # A fetch that times out at 2.0 s (its cancellation cleanup is instant).
        await submission.fetch_or_default(
            runs.job(3.0, name="fetch"), timeout=2.0, default=_Default()
        )
        # A stream object (a cancelled read leaves it open) that goes idle.
        obj = _PlannedStream([0.2, 0.2, 0.2], "stall", 0.0, hop=True)
        await call(
            runs,
            "the stream object",
            obj,
            lambda: obj.closed_at is not None,
            idle=0.5,
            deadline=kata.now() + BIG,
        )
        # An async generator cut off by the deadline.
        gen = _hopping_gen(runs, "generator")
        await call(
            runs,
            "the async generator",
            gen,
            lambda: runs.get("generator").finally_at is not None,
            idle=BIG,
            deadline=kata.now() + 0.5,
        )
        await asyncio.sleep(0.25)  # the caller carries on: the deadline's instant is swept too

    def closed_in_time(runs: kata.Probes) -> str | None:
        streams = left_open.pop(id(runs))
        if streams:
            return (
                f"{COLLECT} let the CancelledError (or its result) out before "
                f"{streams[0]} was closed: close it in a `finally:` (await stream.aclose())"
            )
        return None

    await kata.sweep(
        scenario,
        what=f"{FETCH}(a 3.0 s fetch, timeout=2.0), then {COLLECT} on a stream object going "
        "idle, then on an async generator reaching its deadline",
        invariant=closed_in_time,
        record=probes,
    )
