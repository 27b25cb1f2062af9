"""Hidden suite for exercise 16: retry with backoff, jitter and timeouts.

Every check is on the virtual clock. The function under retry is a scripted
fake: each call follows the next step of its script (run for a while, then
fail, succeed or hang) and records the loop time of the call; its runs are
probes, so a cancelled attempt shows when its ``finally`` ran.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from grader import kata

HANG = object()  # a step that never ends on its own

SETTINGS = "attempts=4, base_delay=0.5, max_delay=1.5"


class Flaky:
    """``fn`` for retry: call i follows ``steps[i]`` (the last step repeats).

    A step is ``(seconds, outcome)``: run that long, then raise the outcome if it
    is an exception, hang if it is HANG, else return it.
    """

    def __init__(
        self, probes: kata.Probes, steps: list[tuple[float, Any]], *, prefix: str = "call"
    ) -> None:
        self.probes = probes
        self.steps = steps
        self.prefix = prefix
        self.calls: list[float] = []

    def __call__(self) -> Any:
        i = len(self.calls)
        self.calls.append(kata.now())
        seconds, outcome = self.steps[min(i, len(self.steps) - 1)]
        return self._run(f"{self.prefix}{i}", seconds, outcome)

    async def _run(self, name: str, seconds: float, outcome: Any) -> Any:
        async with self.probes.span(name):
            await asyncio.sleep(seconds)
            if outcome is HANG:
                await asyncio.sleep(3600)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in times) + "]"


def _same_times(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= 1e-5 for g, w in zip(got, want, strict=True))


COUNT_HINT = "count the attempts (attempts is the total number of calls, the first included)"


def _expect_calls(
    flaky: Flaky,
    t0: float,
    want: list[float],
    what: str,
    hint: str,
    *,
    too_many: str = COUNT_HINT,
) -> None:
    got = [round(t - t0, 6) for t in flaky.calls]
    if _same_times(got, want):
        return
    if len(got) > len(want) and _same_times(got[: len(want)], want):
        why = f"too many calls: {too_many}"
    elif len(got) < len(want) and _same_times(got, want[: len(got)]):
        why = f"too few calls: {COUNT_HINT}"
    else:
        why = hint
    kata.fail(f"{what} called fn at t={_fmt(got)} s; expected exactly {_fmt(want)} s: {why}")


async def _outcome(coro: Any) -> tuple[str, Any]:
    try:
        return "returned", await coro
    except Exception as exc:
        return "raised", exc


def _said(kind: str, value: Any) -> str:
    if kind == "returned":
        return f"returned {value!r}"
    return (
        f"raised {type(value).__name__}: {value}"
        if str(value)
        else f"raised {type(value).__name__}"
    )


BACKOFF_HINT = (
    "after failure k sleep min(max_delay, base_delay * factor ** (k - 1)), passed through "
    "jitter: 0.5, then 1.0, then 1.5 (2.0 capped by max_delay)"
)


# -- behaviour -------------------------------------------------------------------


@kata.check(
    "three failures then a success: calls at 0, 0.5, 1.5 and 3.0 s", group="behaviour", hint=1
)
async def test_three_failures_then_success(submission, probes):
    flaky = Flaky(probes, [(0, ValueError(f"fail {i}")) for i in range(3)] + [(0, "done")])
    what = f"retry(fn failing 3 times then returning 'done', {SETTINGS})"
    t0 = kata.now()
    kind, value = await _outcome(submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5))
    _expect_calls(flaky, t0, [0, 0.5, 1.5, 3.0], what, BACKOFF_HINT)
    kata.expect(
        kind == "returned",
        f"{what} {_said(kind, value)}; the 4th call succeeded, so it must return its result",
    )
    kata.expect_equal(value, "done", what=what, hint="return what the successful call returned")
    kata.expect_time(t0, 3.0, what=what, hint="return as soon as a call succeeds")


@kata.check(
    "jitter shapes every sleep: halving gives calls at 0, 0.25, 0.75, 1.5 s",
    group="behaviour",
    hint=2,
)
async def test_halving_jitter(submission, probes):
    flaky = Flaky(probes, [(0, ValueError(f"fail {i}")) for i in range(3)] + [(0, "done")])
    what = f"retry(fn failing 3 times then succeeding, {SETTINGS}, jitter=lambda d: d / 2)"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, jitter=lambda d: d / 2)
    )
    _expect_calls(
        flaky,
        t0,
        [0, 0.25, 0.75, 1.5],
        what,
        "sleep jitter(min(max_delay, base_delay * factor ** (k - 1))): the capped delays 0.5, "
        "1.0, 1.5 halved are 0.25, 0.5, 0.75; apply jitter to the capped delay, and sleep what "
        "it returns",
    )
    kata.expect_equal(value, "done", what=what)


@kata.check(
    "the backoff follows the formula (20 seeded random settings)", group="behaviour", hint=2
)
async def test_backoff_formula(submission):
    rng = random.Random(16)
    jitters = {
        "none": None,
        "lambda d: d / 2": lambda d: d / 2,
        "lambda d: d + 0.125": lambda d: d + 0.125,
    }
    for scenario in range(20):
        probes = kata.Probes()
        attempts = rng.randint(1, 5)
        kwargs: dict[str, Any] = {
            "attempts": attempts,
            "base_delay": rng.choice([0.125, 0.25, 0.5, 1.0]),
        }
        if rng.random() < 0.7:
            kwargs["factor"] = rng.choice([1.0, 1.5, 2.0, 3.0])
        if rng.random() < 0.5:
            kwargs["max_delay"] = rng.choice([0.75, 2.0])
        jitter_name = rng.choice(list(jitters))
        if jitters[jitter_name] is not None:
            kwargs["jitter"] = jitters[jitter_name]
        succeeds_at = rng.randint(1, attempts + 1)  # attempts + 1: never succeeds
        steps: list[tuple[float, Any]] = [
            (0, ValueError(f"s{scenario} fail {i}")) for i in range(succeeds_at - 1)
        ]
        steps.append((0, f"s{scenario} ok"))
        factor = kwargs.get("factor", 2.0)
        max_delay = kwargs.get("max_delay", float("inf"))
        jitter = kwargs.get("jitter", lambda d: d)
        want = [0.0]
        for k in range(1, min(succeeds_at, attempts)):
            want.append(want[-1] + jitter(min(max_delay, kwargs["base_delay"] * factor ** (k - 1))))
        flaky = Flaky(probes, steps)
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "jitter")
        if "jitter" in kwargs:
            shown += f", jitter={jitter_name}"
        fails = f"failing {succeeds_at - 1} time(s)" + (
            " then succeeding" if succeeds_at <= attempts else ""
        )
        what = f"scenario {scenario} (seed 16): retry(fn {fails}, {shown})"
        t0 = kata.now()
        kind, value = await _outcome(submission.retry(flaky, **kwargs))
        _expect_calls(flaky, t0, want, what, BACKOFF_HINT.split(":")[0])
        if succeeds_at <= attempts:
            kata.expect(
                kind == "returned" and value == f"s{scenario} ok",
                f"{what} {_said(kind, value)}; expected it to return {f's{scenario} ok'!r}",
            )
        else:
            kata.expect(
                kind == "raised" and value is steps[attempts - 1][1],
                f"{what} {_said(kind, value)}; expected the last call's own error "
                f"{steps[attempts - 1][1]!r}, re-raised as it is",
            )
        kata.expect_time(
            t0, want[-1], what=what, hint="no sleep after the last attempt", exact=True
        )


# -- timing ----------------------------------------------------------------------


@kata.check(
    "when every attempt fails, the 4th error is raised at T=3.0 (no sleep after the last)",
    group="timing",
    hint=3,
)
async def test_all_attempts_fail(submission, probes):
    errors = [ValueError(f"fail {i}") for i in range(6)]
    flaky = Flaky(probes, [(0, e) for e in errors])
    what = f"retry(fn that always fails, {SETTINGS})"
    t0 = kata.now()
    kind, value = await _outcome(submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5))
    _expect_calls(flaky, t0, [0, 0.5, 1.5, 3.0], what, BACKOFF_HINT)
    kata.expect(
        kind == "raised" and value is errors[3],
        f"{what} {_said(kind, value)}; expected the 4th call's own error {errors[3]!r}, "
        "re-raised as it is (`raise` inside the except block)",
    )
    kata.expect_time(
        t0,
        3.0,
        what=what,
        hint="after the last attempt there is nothing to wait for: raise at once, "
        "without one more backoff sleep",
        exact=True,
    )


@kata.check(
    "a hanging fn with attempt_timeout=0.3: attempts at 0, 0.8, 2.1, 3.9, TimeoutError at T=4.2",
    group="timing",
    hint=4,
)
async def test_attempt_timeout_schedule(submission, probes):
    flaky = Flaky(probes, [(0, HANG)])
    what = f"retry(fn that hangs, {SETTINGS}, attempt_timeout=0.3)"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, attempt_timeout=0.3)
    )
    _expect_calls(
        flaky,
        t0,
        [0, 0.8, 2.1, 3.9],
        what,
        "each attempt is cut off after 0.3 s and counts as a failure: then the usual backoff "
        "(0.5, 1.0, 1.5) follows",
    )
    kata.expect(
        kind == "raised" and isinstance(value, TimeoutError),
        f"{what} {_said(kind, value)}; expected the last attempt's TimeoutError",
    )
    kata.expect_time(t0, 4.2, what=what, hint="raise when the 4th attempt times out", exact=True)


@kata.check(
    "total_timeout=2.0 raises TimeoutError at T=2.0 in the middle of a backoff sleep",
    group="timing",
    hint=5,
)
async def test_total_timeout_mid_backoff(submission, probes):
    flaky = Flaky(probes, [(0, ValueError("fail"))])
    what = f"retry(fn that always fails at once, {SETTINGS}, total_timeout=2.0)"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, total_timeout=2.0)
    )
    kata.expect(
        kind == "raised" and isinstance(value, TimeoutError),
        f"{what} {_said(kind, value)} at t={kata.now() - t0:g} s; expected TimeoutError at "
        "2.0 s, during the sleep between the 3rd (1.5 s) and 4th (3.0 s) calls",
    )
    kata.expect_time(
        t0,
        2.0,
        what=what,
        hint="the total deadline covers the sleeps too: it must interrupt the backoff sleep "
        "that runs at 2.0 s (put the whole loop under one asyncio.timeout(total_timeout))",
        exact=True,
    )
    await asyncio.sleep(5)
    _expect_calls(
        flaky, t0, [0, 0.5, 1.5], what, BACKOFF_HINT, too_many="no call may follow the deadline"
    )


@kata.check(
    "total_timeout=2.0 raises TimeoutError at T=2.0 in the middle of an attempt",
    group="timing",
    hint=5,
)
async def test_total_timeout_mid_attempt(submission, probes):
    flaky = Flaky(probes, [(0.2, ValueError("fail")), (5.0, "too late")])
    what = f"retry(fn failing after 0.2 s, then taking 5 s, {SETTINGS}, total_timeout=2.0)"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, total_timeout=2.0)
    )
    kata.expect(
        kind == "raised" and isinstance(value, TimeoutError),
        f"{what} {_said(kind, value)} at t={kata.now() - t0:g} s; expected TimeoutError at "
        "2.0 s, in the middle of the 2nd attempt (0.7 s to 5.7 s)",
    )
    kata.expect_time(
        t0,
        2.0,
        what=what,
        hint="the total deadline must interrupt the attempt running at 2.0 s, not only be "
        "checked between attempts: put the whole loop under one asyncio.timeout(total_timeout)",
        exact=True,
    )
    rec = probes.get("call1")
    kata.expect(
        rec.cancelled is not None
        and rec.finally_at is not None
        and abs(rec.finally_at - (t0 + 2.0)) <= 1e-5,
        f"{what}: the attempt running at the deadline was "
        + ("not cancelled" if rec.cancelled is None else f"cleaned up at t={rec.finally_at}")
        + "; it must be cancelled at 2.0 s and its cleanup done before TimeoutError is raised",
    )
    await asyncio.sleep(5)
    _expect_calls(
        flaky,
        t0,
        [0, 0.7],
        what,
        "the 1st call fails at 0.2 s, then the backoff sleeps 0.5 s",
        too_many="no call may follow the deadline",
    )


# -- cancellation and errors -------------------------------------------------------


@kata.check("an error outside retry_on propagates at once", group="cancellation", hint=6)
async def test_non_retryable_error(submission, probes):
    boom = KeyError("not retryable")
    flaky = Flaky(probes, [(0, boom), (0, "never")])
    what = f"retry(fn raising KeyError, {SETTINGS}, retry_on=(ValueError,))"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, retry_on=(ValueError,))
    )
    kata.expect(
        kind == "raised" and value is boom,
        f"{what} {_said(kind, value)}; expected the KeyError itself, at once: only errors "
        "that are instances of retry_on are retried (isinstance(exc, retry_on))",
    )
    kata.expect_time(
        t0, 0.0, what=what, hint="don't sleep before raising a non-retryable error", exact=True
    )
    _expect_calls(
        flaky, t0, [0], what, BACKOFF_HINT, too_many="a non-retryable error ends the retrying"
    )

    later = KeyError("not retryable either")
    flaky = Flaky(probes, [(0, ValueError("retry me")), (0, later), (0, "never")], prefix="again")
    what = f"retry(fn raising ValueError then KeyError, {SETTINGS}, retry_on=(ValueError,))"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, retry_on=(ValueError,))
    )
    kata.expect(
        kind == "raised" and value is later,
        f"{what} {_said(kind, value)}; expected the KeyError of the 2nd call, raised at once",
    )
    kata.expect_time(
        t0, 0.5, what=what, hint="raise the KeyError as soon as it happens", exact=True
    )


@kata.check(
    "a timed-out attempt is cancelled (its cleanup runs) before the next one",
    group="cancellation",
    hint=4,
)
async def test_timed_out_attempts_are_cancelled(submission, probes):
    flaky = Flaky(probes, [(0, HANG), (0, HANG), (0.1, "done")])
    what = f"retry(fn hanging twice then taking 0.1 s, {SETTINGS}, attempt_timeout=0.3)"
    t0 = kata.now()
    kind, value = await _outcome(
        submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5, attempt_timeout=0.3)
    )
    kata.expect(
        kind == "returned" and value == "done",
        f"{what} {_said(kind, value)}; a timed-out attempt is retried, and the 3rd call "
        "returns 'done'",
    )
    for name, cut in (("call0", 0.3), ("call1", 1.1)):
        rec = probes.get(name)
        kata.expect(
            rec.cancelled is not None
            and rec.finally_at is not None
            and abs(rec.finally_at - (t0 + cut)) <= 1e-5,
            f"{what}: the attempt started at t={rec.started - t0:g} s "
            + (
                "was never cancelled"
                if rec.cancelled is None
                else f"ran its cleanup at t={rec.finally_at - t0:g} s"
            )
            + f"; it must be cancelled when its 0.3 s are up (at {cut:g} s), and its cleanup "
            "done before the next attempt: asyncio.timeout(attempt_timeout) or "
            "asyncio.wait_for do both",
        )
    kata.expect_time(t0, 2.2, what=what, exact=True)


@kata.check(
    "cancelling the caller stops the retrying at once (CancelledError is never retried)",
    group="cancellation",
    hint=6,
)
async def test_caller_cancel_stops_retrying(submission, probes):
    for where, steps, want in (
        (
            "during the 2nd attempt (0.5 s to 1.5 s)",
            [(0, ValueError("fail")), (1.0, "late")],
            [0, 0.5],
        ),
        (
            "during the sleep before the 3rd attempt (due at 1.5 s)",
            [(0, ValueError("fail"))],
            [0, 0.5],
        ),
    ):
        runs = kata.Probes()
        flaky = Flaky(runs, steps)
        what = f"retry(fn, {SETTINGS}) cancelled at 0.7 s, {where},"
        t0 = kata.now()
        task = asyncio.ensure_future(
            submission.retry(flaky, attempts=4, base_delay=0.5, max_delay=1.5)
        )
        await asyncio.sleep(0.7)
        task.cancel()
        await asyncio.wait([task])
        ended = kata.now() - t0
        if not task.cancelled():
            exc = task.exception()
            got = f"returned {task.result()!r}" if exc is None else _said("raised", exc)
            kata.fail(
                f"{what} did not end with CancelledError (at t={ended:g} s it {got}): "
                "a CancelledError must never be retried or swallowed; catch Exception, not "
                "BaseException, around the attempt"
            )
        kata.expect(
            abs(ended - 0.7) <= 1e-5,
            f"{what} ended at t={ended:g} s; the cancellation must end it at once, at 0.7 s",
        )
        await asyncio.sleep(5)
        _expect_calls(
            flaky,
            t0,
            want,
            what,
            BACKOFF_HINT,
            too_many="no call may follow the caller's cancel: a CancelledError is never retried",
        )
        unfinished = [r.name for r in runs.records if r.finally_at is None]
        kata.expect(
            not unfinished,
            f"{what}: the attempt in progress was not cancelled (its cleanup never ran)",
        )


@kata.check(
    "cancellation sweep: a cancel at any moment, in an attempt or a backoff, ends the retrying",
    group="cancellation",
    hint=6,
)
async def test_cancellation_sweep(submission, probes):
    what = (
        f"retry(fn, {SETTINGS}, attempt_timeout=0.3, total_timeout=5.0) where fn fails after "
        "0.2 s, then hangs (cut off at 0.3 s), then succeeds after 0.1 s (calls at 0, 0.7 "
        "and 2.0 s)"
    )

    async def scenario(runs: kata.Probes) -> Any:
        flaky = Flaky(runs, [(0.2, ValueError("fail")), (0, HANG), (0.1, "ok")])
        return await submission.retry(
            flaky,
            attempts=4,
            base_delay=0.5,
            max_delay=1.5,
            attempt_timeout=0.3,
            total_timeout=5.0,
        )

    await kata.sweep(scenario, what=what, record=probes)
