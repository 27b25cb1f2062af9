"""Hidden suite for exercise 21: hedged.

Every check is on the virtual clock. ``Service`` is the fake ``call``: each
replica has a latency and an outcome (a value, or an exception to raise), and
every attempt is a probe span named after its replica, so its start, the
cancel it saw and the instant its ``finally`` ran are on record.
"""

from __future__ import annotations

import asyncio
from typing import Any

from grader import kata

CALL = "hedged"
EXACT = 1e-5
REPLICAS = ["r0", "r1", "r2"]


class Service:
    """The fake ``call(replica)``: a latency and an outcome per replica."""

    def __init__(self, probes: kata.Probes, plan: dict[str, tuple[float, Any]]) -> None:
        self.probes = probes
        self.plan = plan
        self.calls: list[tuple[float, Any]] = []

    async def __call__(self, replica: str) -> Any:
        self.calls.append((kata.now(), replica))
        if replica not in self.plan:
            raise LookupError(f"there is no replica named {replica!r}")
        latency, outcome = self.plan[replica]
        async with self.probes.span(str(replica)):
            await asyncio.sleep(latency)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

    # -- what the checks read --------------------------------------------------
    def names(self) -> list[Any]:
        return [r for _, r in self.calls]

    def describe(self) -> str:
        if not self.calls:
            return "no replica was called"
        return ", ".join(f"{r!r} at t={t:g} s" for t, r in self.calls)

    def record(self, name: str) -> kata.ProbeRecord | None:
        for rec in self.probes.records:
            if rec.name == name:
                return rec
        return None


def _plan_text(plan: dict[str, tuple[float, Any]]) -> str:
    parts = []
    for name, (latency, outcome) in plan.items():
        if isinstance(outcome, BaseException):
            parts.append(f"{name} fails with {outcome!r} after {latency:g} s")
        else:
            parts.append(f"{name} answers {outcome!r} after {latency:g} s")
    return "; ".join(parts)


def _expect_calls(svc: Service, expected: list[tuple[float, str]], what: str, hint: str) -> None:
    """The replicas called, in order, each at its expected instant (exact)."""
    got = svc.names()
    kata.expect(
        got == [name for _, name in expected],
        f"{what}: called {svc.describe()}; expected "
        + ", ".join(f"{n!r} at t={t:g} s" for t, n in expected)
        + (f": {hint}" if hint else ""),
    )
    for (at, name), (want, _) in zip(svc.calls, expected, strict=True):
        kata.expect(
            abs(at - want) <= EXACT,
            f"{what}: replica {name!r} started at t={at:g} s; it should start at exactly "
            f"t={want:g} s"
            + (f" ({svc.describe()})" if svc.calls else "")
            + (f": {hint}" if hint else ""),
        )


async def _returns(coro: Any, what: str) -> Any:
    """Await ``coro`` and fail with a learner-facing message if it raises."""
    try:
        return await coro
    except BaseException as exc:
        if isinstance(exc, kata.KataFailure | KeyboardInterrupt | SystemExit):
            raise
        if isinstance(exc, asyncio.CancelledError):
            kata.fail(f"{what} raised CancelledError although nobody cancelled the caller")
        kata.fail(f"{what} raised {exc!r}; it should have returned the first success")


# ----------------------------------------------------------------------------- behaviour

TAIL = {"r0": (3.0, "from-r0"), "r1": (1.0, "from-r1"), "r2": (0.2, "from-r2")}
TAIL_WHAT = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(TAIL)}"


@kata.check(
    "the first success wins, and each replica is called once, in order", group="behaviour", hint=1
)
async def test_first_success_wins(submission, probes):
    svc = Service(probes, TAIL)
    got = await _returns(submission.hedged(svc, list(REPLICAS), hedge_delay=0.5), TAIL_WHAT)
    kata.expect_equal(
        got,
        "from-r2",
        what=TAIL_WHAT,
        hint="r2 answers first (at t=1.2 s): return the first attempt that succeeds",
    )
    kata.expect(
        svc.names() == REPLICAS,
        f"{TAIL_WHAT}: called {svc.describe()}; each replica must be called once, in the "
        "order given",
    )


@kata.check("None is a success like any other value", group="behaviour", hint=3)
async def test_none_counts_as_success(submission, probes):
    plan = {"r0": (1.0, None), "r1": (2.0, "from-r1"), "r2": (2.0, "from-r2")}
    what = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(plan)}"
    svc = Service(probes, plan)
    t0 = kata.now()
    got = await _returns(submission.hedged(svc, list(REPLICAS), hedge_delay=0.5), what)
    kata.expect_equal(
        got,
        None,
        what=what,
        hint="r0 succeeded first, with the value None: a success is an attempt that did not "
        "raise (`attempt.exception() is None`), whatever its value; don't use None as "
        "'no answer yet'",
    )
    kata.expect_time(
        t0,
        1.0,
        what=what + f" ({svc.describe()})",
        hint="r0's None at t=1.0 s is the winning answer",
    )


@kata.check("a failed attempt is not an answer", group="behaviour", hint=3)
async def test_failure_is_not_a_win(submission, probes):
    boom = ConnectionResetError("r0 is down")
    plan = {"r0": (0.1, boom), "r1": (1.0, "from-r1"), "r2": (0.2, "from-r2")}
    what = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(plan)}"
    svc = Service(probes, plan)
    try:
        got = await submission.hedged(svc, list(REPLICAS), hedge_delay=0.5)
    except Exception as exc:
        kata.fail(
            f"{what} raised {exc!r} at t={kata.now():g} s; a failed attempt is not an answer: "
            "keep waiting for the others (start the next replica at once) and return the "
            "first *success*"
        )
    if got is boom:
        kata.fail(
            f"{what} returned r0's exception object; a failed attempt is not an answer: "
            "check `attempt.exception()` before taking `attempt.result()`"
        )
    kata.expect_equal(
        got,
        "from-r2",
        what=what,
        hint="r1 starts at t=0.1 s (when r0 fails), r2 at 0.6 s, and r2 answers first",
    )


@kata.check(
    "when every replica fails: an ExceptionGroup in replica order", group="behaviour", hint=4
)
async def test_all_fail_group_in_replica_order(submission, probes):
    errors = [
        ConnectionRefusedError("r0 refused"),
        LookupError("r1 lost it"),
        ValueError("r2 bad answer"),
    ]
    plan = {"r0": (2.0, errors[0]), "r1": (0.1, errors[1]), "r2": (0.1, errors[2])}
    what = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(plan)}"
    svc = Service(probes, plan)
    try:
        got = await submission.hedged(svc, list(REPLICAS), hedge_delay=0.5)
    except ExceptionGroup as group:
        inner = list(group.exceptions)
        if all(any(e is x for x in inner) for e in errors) and len(inner) == 3:
            kata.expect(
                all(a is b for a, b in zip(inner, errors, strict=True)),
                f"{what}: the ExceptionGroup holds {inner!r}; expected {errors!r}, in replica "
                "order (r1 and r2 failed before r0, but the group lists r0 first): store each "
                "error at its replica's index",
            )
        else:
            kata.fail(
                f"{what}: the ExceptionGroup holds {inner!r}; expected the replicas' own "
                f"exceptions {errors!r}, in replica order, each once and not nested"
            )
    except Exception as exc:
        kata.fail(
            f"{what} raised {exc!r}; when every replica fails it must raise "
            "ExceptionGroup(msg, [r0's error, r1's error, r2's error])"
        )
    else:
        kata.fail(
            f"{what} returned {got!r} although every replica failed; raise an "
            "ExceptionGroup of their errors"
        )


# ----------------------------------------------------------------------------- timing


@kata.check(
    "hedges start hedge_delay after the latest start; r2 wins at T=1.2", group="timing", hint=2
)
async def test_hedges_start_on_schedule(submission, probes):
    svc = Service(probes, TAIL)
    t0 = kata.now()
    await _returns(submission.hedged(svc, list(REPLICAS), hedge_delay=0.5), TAIL_WHAT)
    _expect_calls(
        svc,
        [(0.0, "r0"), (0.5, "r1"), (1.0, "r2")],
        TAIL_WHAT,
        "start the next replica only after hedge_delay without a success (did you start "
        "them all at once, or wait for each attempt to finish?)",
    )
    kata.expect_time(
        t0,
        1.2,
        what=TAIL_WHAT,
        hint="r2 starts at t=1.0 s and answers 0.2 s later: return as soon as the first "
        "success arrives",
    )


@kata.check("a fast primary answers alone: T=0.3 with a single call", group="timing", hint=2)
async def test_fast_primary_single_call(submission, probes):
    plan = {"r0": (0.3, "from-r0"), "r1": (0.1, "from-r1"), "r2": (0.1, "from-r2")}
    what = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(plan)}"
    svc = Service(probes, plan)
    t0 = kata.now()
    got = await _returns(submission.hedged(svc, list(REPLICAS), hedge_delay=0.5), what)
    kata.expect(
        svc.names() == ["r0"],
        f"{what}: called {svc.describe()}; r0 answers at t=0.3 s, before the first hedge "
        "is due at 0.5 s, so no other replica may be called: a hedge starts only after "
        "hedge_delay without a success",
    )
    kata.expect_equal(got, "from-r0", what=what)
    kata.expect_time(t0, 0.3, what=what, hint="return r0's answer the moment it arrives")


@kata.check("a failure starts the next replica at once (r2 wins at T=0.8)", group="timing", hint=3)
async def test_failure_hedges_at_once(submission, probes):
    plan = {
        "r0": (0.1, ConnectionResetError("r0 is down")),
        "r1": (1.0, "from-r1"),
        "r2": (0.2, "from-r2"),
    }
    what = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(plan)}"
    svc = Service(probes, plan)
    t0 = kata.now()
    try:
        await submission.hedged(svc, list(REPLICAS), hedge_delay=0.5)
    except Exception as exc:
        kata.fail(f"{what} raised {exc!r} at t={kata.now():g} s; r2's answer should win at t=0.8 s")
    _expect_calls(
        svc,
        [(0.0, "r0"), (0.1, "r1"), (0.6, "r2")],
        what,
        "a failure starts the next replica immediately (not after a fixed "
        "sleep(hedge_delay)), and the hedge timer restarts from that latest start",
    )
    kata.expect_time(
        t0,
        0.8,
        what=what,
        hint="r1 should start at 0.1 s when r0 fails, r2 at 0.6 s, and r2 answers at 0.8 s",
    )


@kata.check("when every replica fails fast, the group is raised at T=0.3", group="timing", hint=3)
async def test_all_fail_fast(submission, probes):
    errors = [OSError(f"r{i} failed") for i in range(3)]
    plan = {f"r{i}": (0.1, errors[i]) for i in range(3)}
    what = f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5) where {_plan_text(plan)}"
    svc = Service(probes, plan)
    t0 = kata.now()
    try:
        got = await submission.hedged(svc, list(REPLICAS), hedge_delay=0.5)
    except ExceptionGroup:
        pass
    except Exception as exc:
        kata.fail(f"{what} raised {exc!r}; it should raise an ExceptionGroup of the three errors")
    else:
        kata.fail(f"{what} returned {got!r}; it should raise an ExceptionGroup of the three errors")
    kata.expect_time(
        t0,
        0.3,
        what=what + f" (called {svc.describe()})",
        hint="each failure must start the next replica at once (r1 at 0.1 s, r2 at 0.2 s), "
        "and the group is raised as soon as the last one fails",
        too_fast="did you raise before every replica had failed?",
    )


# ----------------------------------------------------------------------------- cancellation


@kata.check(
    "the losers are cancelled, and cleaned up before the winner is returned",
    group="cancellation",
    hint=5,
)
async def test_losers_cancelled_before_return(submission, probes):
    svc = Service(probes, TAIL)
    await _returns(submission.hedged(svc, list(REPLICAS), hedge_delay=0.5), TAIL_WHAT)
    returned_at = kata.now()
    # Read the records before anything else can run: the losers' cleanup must be done.
    snapshot = {name: svc.record(name) for name in ("r0", "r1")}
    for name, rec in snapshot.items():
        if rec is None:
            kata.fail(f"{TAIL_WHAT}: replica {name!r} was never started ({svc.describe()})")
        kata.expect(
            rec.ended is None,
            f"{TAIL_WHAT}: loser {name!r} ran to its end at t={rec.ended} s; cancel the "
            "other attempts as soon as one succeeds",
        )
        kata.expect(
            rec.cancelled is not None and rec.finally_at is not None,
            f"{TAIL_WHAT}: when {CALL} returned at t={returned_at:g} s, loser {name!r} had "
            + ("not been cancelled" if rec.cancelled is None else "not finished its cleanup")
            + ": cancel every other attempt and await them (gather(..., "
            "return_exceptions=True)) before returning the winner",
        )
        kata.expect(
            abs(rec.finally_at - 1.2) <= EXACT,
            f"{TAIL_WHAT}: loser {name!r} was cleaned up at t={rec.finally_at:g} s; it should "
            "be cancelled at t=1.2 s, when r2 wins",
        )
    await asyncio.sleep(5)
    ended = [r.name for r in probes.records if r.ended is not None and r.name != "r2"]
    kata.expect(not ended, f"{TAIL_WHAT}: losers {ended} still ran to their end after the win")


@kata.check(
    "timeout=0.9 raises TimeoutError at T=0.9 with every attempt cancelled",
    group="cancellation",
    hint=6,
)
async def test_timeout_cancels_everything(submission, probes):
    plan = {name: (3.0, f"from-{name}") for name in REPLICAS}
    what = (
        f"{CALL}(call, ['r0', 'r1', 'r2'], hedge_delay=0.5, timeout=0.9) where {_plan_text(plan)}"
    )
    svc = Service(probes, plan)
    t0 = kata.now()
    try:
        got = await submission.hedged(svc, list(REPLICAS), hedge_delay=0.5, timeout=0.9)
    except TimeoutError:
        pass
    except BaseException as exc:
        if isinstance(exc, kata.KataFailure | KeyboardInterrupt | SystemExit):
            raise
        kata.fail(
            f"{what} raised {exc!r}; when the timeout expires it must raise "
            "TimeoutError (asyncio.timeout does it for you)"
        )
    else:
        kata.fail(
            f"{what} returned {got!r} at t={kata.now():g} s; it must raise TimeoutError at t=0.9 s"
        )
    kata.expect_time(
        t0, 0.9, what=what, hint="the timeout counts from the call, for the whole hedged request"
    )
    snapshot = [(r.name, r.cancelled, r.finally_at) for r in probes.records]
    for name, cancelled, finally_at in snapshot:
        kata.expect(
            cancelled is not None and finally_at is not None,
            f"{what}: when TimeoutError was raised at t={kata.now():g} s, attempt {name!r} "
            + ("was not cancelled" if cancelled is None else "had not finished its cleanup")
            + ": cancel every attempt and await them before raising",
        )
    await asyncio.sleep(5)
    kata.expect(
        svc.names() == ["r0", "r1"],
        f"{what}: called {svc.describe()}; r0 (t=0) and r1 (t=0.5 s) should have been "
        "called, and nothing after the timeout",
    )


@kata.check("a caller cancelled at 0.7 leaves nothing running", group="cancellation", hint=5)
async def test_caller_cancel(submission, probes):
    svc = Service(probes, TAIL)
    t0 = kata.now()
    task = asyncio.ensure_future(submission.hedged(svc, list(REPLICAS), hedge_delay=0.5))
    await asyncio.sleep(0.7)
    if task.done():
        kata.fail(
            f"{TAIL_WHAT} finished at t<=0.7 s (before the cancel at t=0.7 s) with "
            + (f"{task.exception()!r}" if task.exception() is not None else f"{task.result()!r}")
            + f" ({svc.describe()}); r2 only starts at t=1.0 s, so it should still be running"
        )
    task.cancel()
    try:
        got = await task
    except asyncio.CancelledError:
        pass
    except Exception as exc:
        kata.fail(
            f"{TAIL_WHAT}, cancelled at t=0.7 s, raised {exc!r}; the CancelledError must propagate"
        )
    else:
        kata.fail(
            f"{TAIL_WHAT}, cancelled at t=0.7 s, returned {got!r} at t={kata.now():g} s; the "
            "cancellation must propagate (don't swallow CancelledError)"
        )
    kata.expect_time(
        t0,
        0.7,
        what=f"{CALL} finishing its cancellation (cancelled at 0.7 s)",
        exact=True,
        hint="cancel the attempts and await them, without waiting for them to finish on their own",
    )
    cancelled_at = kata.now()
    await asyncio.sleep(5)
    kata.expect(
        svc.names() == ["r0", "r1"],
        f"{TAIL_WHAT}, cancelled at t=0.7 s: called {svc.describe()}; no replica may start "
        "after the caller was cancelled",
    )
    for rec in probes.records:
        kata.expect(
            rec.ended is None
            and rec.cancelled is not None
            and rec.finally_at is not None
            and rec.finally_at <= cancelled_at + EXACT,
            f"{TAIL_WHAT}, cancelled at t=0.7 s: attempt {rec.name!r} "
            + (
                f"ran on to its end at t={rec.ended:g} s"
                if rec.ended is not None
                else "was never cancelled"
                if rec.cancelled is None
                else f"was cleaned up at t={rec.finally_at:g} s"
            )
            + "; every attempt must be cancelled and awaited when the caller is cancelled "
            "(a `finally:` that cancels and gathers them)",
        )


SWEEP_PLAN: dict[str, tuple[float, Any]] = {
    "r0": (3.0, "r0-answer"),
    "r1": (0.3, ConnectionError("r1 is down")),
    "r2": (1.0, "r2-answer"),
    "r3": (0.2, "r3-answer"),
}


@kata.check(
    "cancellation sweep: a cancel at any instant stops every attempt and starts no more",
    group="cancellation",
    hint=5,
)
async def test_cancellation_sweep(submission, probes):
    what = (
        f"{CALL}(4 replicas, hedge_delay=0.5) where {_plan_text(SWEEP_PLAN)} "
        "(starts at 0, 0.5, 0.8 and 1.3 s; r3 wins at 1.5 s)"
    )

    async def scenario(runs: kata.Probes) -> Any:
        return await submission.hedged(Service(runs, SWEEP_PLAN), list(SWEEP_PLAN), hedge_delay=0.5)

    await kata.sweep(scenario, what=what, record=probes)
