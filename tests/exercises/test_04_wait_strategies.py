"""Hidden suite for exercise 04: run_and_wait over asyncio.wait's three modes.

Every check is on the virtual clock. The curriculum's jobs: a (1.0 s),
b (2.0 s), c (0.5 s, raises ValueError), d (3.0 s); each is a probe that
records when it started, ended, saw a cancellation and ran its ``finally``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from grader import kata
from grader.kata import strategies as st

CALL = "run_and_wait"
EXACT = 1e-5
MODES = ("first_completed", "first_exception", "all_completed")


def _jobs(
    probes: kata.Probes, *, with_c: bool = True, reverse: bool = False
) -> tuple[dict[str, Any], ValueError]:
    """The curriculum's jobs a, b, c, d (c optional) and c's exception object.

    ``reverse`` inserts them as d, c, b, a, so an unsorted ``pending`` shows.
    """
    boom = ValueError("c failed")
    jobs = {"a": probes.job(1.0, name="a"), "b": probes.job(2.0, name="b")}
    if with_c:
        jobs["c"] = probes.job(0.5, exc=boom, name="c")
    jobs["d"] = probes.job(3.0, name="d")
    if reverse:
        jobs = dict(reversed(jobs.items()))
    return jobs, boom


def _describe(jobs: dict[str, Any], mode: str, timeout: float | None = None) -> str:
    spec = {"a": "a=1.0 s", "b": "b=2.0 s", "c": "c=0.5 s raising ValueError", "d": "d=3.0 s"}
    listed = ", ".join(spec.get(k, k) for k in jobs)
    extra = f", timeout={timeout}" if timeout is not None else ""
    return f"{CALL}({{{listed}}}, mode={mode!r}{extra})"


def _plain(value: object) -> object:
    """A dict or list subclass is accepted as such; the content is compared exactly."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _expect_report(
    submission: Any,
    report: object,
    call: str,
    done: dict[str, Any],
    pending: list[str],
    hint: str = "",
) -> None:
    kata.expect(
        isinstance(report, submission.WaitReport),
        f"{call} returned {report!r}; it must return a WaitReport(done=..., pending=...)",
    )
    kata.expect_equal(
        _plain(report.done),
        done,
        what=f"{call}, its report's done,",
        hint=hint
        or "done maps each finished job's name to its result, or to the very "
        "exception instance it raised",
    )
    kata.expect_equal(
        _plain(report.pending),
        pending,
        what=f"{call}, its report's pending,",
        hint=hint
        or "pending lists, sorted, the names of the jobs still running when the wait ended",
    )


async def _call(submission: Any, jobs: dict[str, Any], call: str, **kwargs: Any) -> Any:
    try:
        return await submission.run_and_wait(jobs, **kwargs)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if not jobs:
            kata.fail(
                f"{call} raised {exc!r}; with no jobs it must return an empty WaitReport "
                "(asyncio.wait() rejects an empty set: return before calling it)"
            )
        kata.fail(
            f"{call} raised {exc!r}; job errors are reported in done and a timeout is not an "
            "error: run_and_wait returns a WaitReport either way"
            + (
                ". asyncio.wait() wants tasks, not coroutines: create a task for each job"
                if isinstance(exc, TypeError)
                else ""
            )
        )


# -- behaviour ---------------------------------------------------------------


@kata.check("first_completed reports the first finisher, c's ValueError", group="behaviour", hint=3)
async def test_first_completed_report(submission, probes):
    jobs, boom = _jobs(probes, reverse=True)
    call = _describe(jobs, "first_completed")
    report = await _call(submission, jobs, call, mode="first_completed")
    _expect_report(submission, report, call, {"c": boom}, ["a", "b", "d"])


@kata.check(
    "first_exception stops at the failure, or runs all without one", group="behaviour", hint=3
)
async def test_first_exception_report(submission, probes):
    jobs, boom = _jobs(probes)
    call = _describe(jobs, "first_exception")
    report = await _call(submission, jobs, call, mode="first_exception")
    _expect_report(submission, report, call, {"c": boom}, ["a", "b", "d"])
    jobs, _ = _jobs(kata.Probes(), with_c=False)
    call = _describe(jobs, "first_exception")
    report = await _call(submission, jobs, call, mode="first_exception")
    _expect_report(
        submission,
        report,
        call,
        {"a": "result-a", "b": "result-b", "d": "result-d"},
        [],
        hint="without a failure, first_exception waits for every job",
    )


@kata.check("all_completed reports every result and error", group="behaviour", hint=3)
async def test_all_completed_report(submission, probes):
    jobs, boom = _jobs(probes)
    call = _describe(jobs, "all_completed")
    report = await _call(submission, jobs, call, mode="all_completed")
    _expect_report(
        submission,
        report,
        call,
        {"a": "result-a", "b": "result-b", "c": boom, "d": "result-d"},
        [],
    )


@kata.check("a timeout is not an error: done {a, c}, pending [b, d]", group="behaviour", hint=4)
async def test_timeout_report(submission, probes):
    jobs, boom = _jobs(probes, reverse=True)
    call = _describe(jobs, "all_completed", 1.2)
    report = await _call(submission, jobs, call, mode="all_completed", timeout=1.2)
    _expect_report(
        submission,
        report,
        call,
        {"a": "result-a", "c": boom},
        ["b", "d"],
        hint="at the timeout, report what finished (a and c) and cancel the rest: "
        "asyncio.wait(..., timeout=...) returns both sets; wait_for(gather(...)) loses "
        "the partial results",
    )


@kata.check("simultaneous finishers all land in done", group="behaviour", hint=3)
async def test_simultaneous_finishers(submission, probes):
    jobs = {
        "x": probes.job(1.0, name="x"),
        "y": probes.job(1.0, name="y"),
        "z": probes.job(2.0, name="z"),
    }
    call = f"{CALL}({{x=1.0 s, y=1.0 s, z=2.0 s}}, mode='first_completed')"
    report = await _call(submission, jobs, call, mode="first_completed")
    _expect_report(
        submission,
        report,
        call,
        {"x": "result-x", "y": "result-y"},
        ["z"],
        hint="x and y finish at the same instant: both are done. Report every task that is "
        "done when the wait ends, not just the first one",
    )
    e1, e2 = RuntimeError("p failed"), KeyError("q failed")
    jobs = {
        "p": probes.job(1.0, exc=e1, name="p"),
        "q": probes.job(1.0, exc=e2, name="q"),
        "r": probes.job(2.0, name="r"),
    }
    call = f"{CALL}({{p=1.0 s raising, q=1.0 s raising, r=2.0 s}}, mode='first_exception')"
    report = await _call(submission, jobs, call, mode="first_exception")
    _expect_report(
        submission,
        report,
        call,
        {"p": e1, "q": e2},
        ["r"],
        hint="p and q fail at the same instant: both are done. Report every task that is "
        "done when the wait ends, not just the first one",
    )


@kata.check("each job runs in a task named by its key", group="behaviour", hint=2)
async def test_jobs_named_by_key(submission, probes):
    seen: dict[str, str] = {}

    def job(key: str, delay: float) -> Any:
        async def run() -> str:
            seen[key] = asyncio.current_task().get_name()
            await asyncio.sleep(delay)
            return key.upper()

        return run

    jobs = {"fetch": job("fetch", 0.5), "parse": job("parse", 1.0), "store": job("store", 1.5)}
    call = f"{CALL}({{fetch, parse, store}}, mode='all_completed')"
    report = await _call(submission, jobs, call, mode="all_completed")
    kata.expect_equal(
        seen,
        {"fetch": "fetch", "parse": "parse", "store": "store"},
        what="asyncio.current_task().get_name() inside each job",
        hint="start each job with asyncio.create_task(..., name=key)",
    )
    _expect_report(
        submission, report, call, {"fetch": "FETCH", "parse": "PARSE", "store": "STORE"}, []
    )


@kata.check("a bad mode raises ValueError before anything starts", group="behaviour", hint=1)
async def test_bad_mode(submission, probes):
    for mode in ("bogus", "first", "ALL_COMPLETED_PLEASE"):
        jobs = {"a": probes.job(1.0, name=f"a-{mode}"), "b": probes.job(2.0, name=f"b-{mode}")}
        call = f"{CALL}({{a, b}}, mode={mode!r})"
        try:
            await submission.run_and_wait(jobs, mode=mode)
        except ValueError:
            pass
        except Exception as exc:
            kata.fail(f"{call} raised {exc!r}; a bad mode must raise ValueError")
        else:
            kata.fail(f"{call} returned; a bad mode must raise ValueError")
        await asyncio.sleep(0.1)
        kata.expect(
            not probes.started(),
            f"{call} started jobs {[r.name for r in probes.started()]} before rejecting the "
            "mode: check the mode first, before creating any task",
        )


@kata.check("empty jobs give an empty report at once", group="behaviour", hint=1)
async def test_empty_jobs(submission, probes):
    for mode in MODES:
        call = f"{CALL}({{}}, mode={mode!r})"
        t0 = kata.now()
        report = await _call(submission, {}, call, mode=mode)
        _expect_report(
            submission,
            report,
            call,
            {},
            [],
            hint="no jobs, nothing to report (asyncio.wait() rejects an empty set: handle it "
            "before calling it)",
        )
        kata.expect_time(t0, 0.0, what=call, exact=True, hint="with no jobs, return at once")


# -- timing ------------------------------------------------------------------


@kata.check("first_completed returns at 0.5 s", group="timing", hint=3)
async def test_first_completed_time(submission, probes):
    jobs, _ = _jobs(probes)
    call = _describe(jobs, "first_completed")
    t0 = kata.now()
    await _call(submission, jobs, call, mode="first_completed")
    kata.expect_time(
        t0,
        0.5,
        what=call,
        hint="return when the first job finishes (c, failing at 0.5 s); a failure counts as "
        "finishing: asyncio.wait(..., return_when=FIRST_COMPLETED)",
        too_fast="it returned before any job finished",
    )


@kata.check("first_exception returns at 0.5 s, or 3.0 s without c", group="timing", hint=3)
async def test_first_exception_time(submission, probes):
    jobs, _ = _jobs(probes)
    call = _describe(jobs, "first_exception")
    t0 = kata.now()
    await _call(submission, jobs, call, mode="first_exception")
    kata.expect_time(
        t0,
        0.5,
        what=call,
        hint="return as soon as a job raises (c at 0.5 s): "
        "asyncio.wait(..., return_when=FIRST_EXCEPTION)",
        too_fast="it returned before any job failed",
    )
    jobs, _ = _jobs(kata.Probes(), with_c=False)
    call = _describe(jobs, "first_exception")
    t0 = kata.now()
    await _call(submission, jobs, call, mode="first_exception")
    kata.expect_time(
        t0,
        3.0,
        what=call,
        hint="with no failure, first_exception waits for every job (d ends at 3.0 s); the "
        "jobs run concurrently, so the slowest one sets the time",
        too_fast="it returned before every job finished, although none failed",
    )


@kata.check("all_completed returns at 3.0 s, or at the 1.2 s timeout", group="timing", hint=4)
async def test_all_completed_time(submission, probes):
    jobs, _ = _jobs(probes)
    call = _describe(jobs, "all_completed")
    t0 = kata.now()
    await _call(submission, jobs, call, mode="all_completed")
    kata.expect_time(
        t0,
        3.0,
        what=call,
        hint="the jobs run concurrently, so the slowest one (d, 3.0 s) sets the time: are "
        "you awaiting them one by one?",
        too_fast="it returned before every job finished",
    )
    jobs, _ = _jobs(kata.Probes())
    call = _describe(jobs, "all_completed", 1.2)
    t0 = kata.now()
    await _call(submission, jobs, call, mode="all_completed", timeout=1.2)
    kata.expect_time(
        t0,
        1.2,
        what=call,
        hint="stop waiting at the timeout: asyncio.wait(..., timeout=1.2)",
        too_fast="it returned before the timeout, while jobs b and d were still running",
    )


# -- cancellation and errors -------------------------------------------------


async def _expect_cleaned_up(
    probes: kata.Probes, names: list[str], t0: float, after: float, call: str
) -> None:
    """Jobs ``names`` were cancelled, and their ``finally`` ran, when ``call`` returned."""
    at = t0 + after
    cleaned = {name: probes.get(name).finally_at for name in names}
    await asyncio.sleep(0.01)  # let a cancellation that was requested but not awaited land
    for name in names:
        rec = probes.get(name)
        kata.expect(
            rec.cancelled is not None and rec.ended is None,
            f"when {call} returned {after} s after it started, job {name!r} was still running "
            "and it was never cancelled: cancel every pending task before returning",
        )
        kata.expect(
            cleaned[name] is not None and abs(cleaned[name] - at) <= EXACT,
            f"when {call} returned {after} s after it started, job {name!r} had been "
            "cancelled but its cleanup (`finally`) had not run yet: after task.cancel(), await "
            "the cancelled tasks (asyncio.wait(pending) or gather(*pending, "
            "return_exceptions=True)) before returning",
        )


@kata.check(
    "pending jobs are cancelled and their cleanup ran before return", group="cancellation", hint=5
)
async def test_pending_cleanup_before_return(submission, probes):
    jobs, _ = _jobs(probes)
    call = _describe(jobs, "first_completed")
    t0 = kata.now()
    await _call(submission, jobs, call, mode="first_completed")
    kata.expect_time(t0, 0.5, what=call, exact=True)
    await _expect_cleaned_up(probes, ["a", "b", "d"], t0, 0.5, call)

    later = kata.Probes()
    jobs, _ = _jobs(later)
    call = _describe(jobs, "all_completed", 1.2)
    t0 = kata.now()
    await _call(submission, jobs, call, mode="all_completed", timeout=1.2)
    kata.expect_time(t0, 1.2, what=call, exact=True)
    await _expect_cleaned_up(later, ["b", "d"], t0, 1.2, call)


@kata.check("cancelling the caller at 0.2 s cancels every job", group="cancellation", hint=5)
async def test_caller_cancel(submission, probes):
    jobs, _ = _jobs(probes)
    call = _describe(jobs, "all_completed")
    t0 = kata.now()
    caller = asyncio.ensure_future(submission.run_and_wait(jobs, mode="all_completed"))
    await asyncio.sleep(0.2)
    caller.cancel()
    try:
        await caller
    except asyncio.CancelledError:
        pass
    except Exception as exc:
        kata.fail(
            f"{call}, cancelled at t=0.2 s, raised {exc!r}; the CancelledError must propagate"
        )
    else:
        kata.fail(
            f"{call} returned normally after its caller was cancelled at t=0.2 s; the "
            "cancellation must propagate (don't swallow CancelledError)"
        )
    kata.expect_time(
        t0,
        0.2,
        what=f"{call}, cancelled at t=0.2 s,",
        exact=True,
        hint="the cancellation must end the call at once (cancel the jobs, don't wait for them "
        "to finish)",
    )
    await asyncio.sleep(5.0)
    for name in ("a", "b", "c", "d"):
        rec = probes.get(name)
        kata.expect(
            rec.cancelled is not None
            and abs(rec.cancelled - 0.2) <= EXACT
            and rec.ended is None
            and rec.failed is None,
            f"after {call}'s caller was cancelled at t=0.2 s, job {name!r} recorded "
            f"cancelled={rec.cancelled}, ended={rec.ended}, failed={rec.failed!r}: it must be "
            "cancelled at t=0.2 s. asyncio.wait does not cancel its tasks when it is "
            "cancelled: cancel them yourself (try/finally)",
        )


# -- the cancellation sweep and the property ----------------------------------


class _Witness:
    """What the jobs saw happen after their caller was cancelled.

    A cancel of the caller's task raises its ``cancelling()`` count at once, so
    each job can tell, when it starts, ends or is cancelled, whether the
    caller had already been cancelled. In a correct solution all of that happens
    at the very instant of the cancel; anything at a later instant is a job left
    running (or started) after the cancel, or a cancellation that reached the
    caller late.
    """

    def __init__(self) -> None:
        self.caller = asyncio.current_task()
        self.t0 = kata.now()
        self.after: list[tuple[float, str]] = []
        self.caught_at: float | None = None

    def note(self, what: str) -> None:
        if self.caller is not None and self.caller.cancelling():
            self.after.append((kata.now(), what))

    def job(self, probes: kata.Probes, name: str, delay: float) -> Any:
        async def run() -> str:
            self.note(f"job {name!r} started")
            async with probes.span(name):
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    self.note(f"job {name!r} was cancelled")
                    raise
                self.note(f"job {name!r} finished")
                return f"result-{name}"

        return run

    def problem(self) -> str | None:
        seen = [t for t, _ in self.after]
        if self.caught_at is not None:
            seen.append(self.caught_at)
        if not seen:
            return None
        first = min(seen)
        late = [(t, what) for t, what in self.after if t > first + 1e-9]
        if late:
            t, what = late[0]
            return (
                f"the caller was cancelled by t={first - self.t0:g} s, but {what} at "
                f"t={t - self.t0:g} s: when the caller is cancelled, every job must be "
                "cancelled at that very moment (asyncio.wait does not do it for you)"
            )
        if self.caught_at is not None and self.caught_at > first + 1e-9:
            return (
                f"the caller was cancelled by t={first - self.t0:g} s, but the CancelledError "
                f"only reached it at t={self.caught_at - self.t0:g} s: it must propagate at once"
            )
        return None


@kata.check(
    "cancellation sweep: a cancel at any instant, in any mode, cancels every job",
    group="cancellation",
    hint=5,
)
async def test_cancellation_sweep(submission, probes):
    # No job fails here: a job that failed before the caller's cancel leaves its
    # exception in a task nobody reports, and what becomes of it is not specified.
    witnesses: dict[int, _Witness] = {}
    phases: list[tuple[str, float | None, dict[str, float]]] = [
        ("first_completed", None, {"a": 1.0, "b": 2.0, "c": 0.5}),
        ("first_exception", None, {"x": 0.5, "y": 1.0, "z": 1.5}),
        ("all_completed", 1.2, {"p": 0.25, "q": 2.0, "r": 0.75}),
    ]

    async def scenario(runs: kata.Probes) -> None:
        witnesses[id(runs)] = w = _Witness()
        try:
            for mode, timeout, spec in phases:
                jobs = {name: w.job(runs, name, delay) for name, delay in spec.items()}
                await submission.run_and_wait(jobs, mode=mode, timeout=timeout)
        except asyncio.CancelledError:
            w.caught_at = kata.now()
            raise

    def every_job_cancelled_at_once(runs: kata.Probes) -> str | None:
        return witnesses[id(runs)].problem()

    await kata.sweep(
        scenario,
        what=f"{CALL}({{a=1.0 s, b=2.0 s, c=0.5 s}}, mode='first_completed'), then "
        "({x=0.5 s, y=1.0 s, z=1.5 s}, mode='first_exception'), then "
        "({p=0.25 s, q=2.0 s, r=0.75 s}, mode='all_completed', timeout=1.2)",
        invariant=every_job_cancelled_at_once,
        record=probes,
    )


@kata.check(
    "any jobs, each mode, any timeout: the report and the instant match asyncio.wait "
    "(property, 60 scenarios)",
    group="behaviour",
    hint=3,
)
def test_property_reports_match_wait(submission):

    # Each scenario is run in every mode, with its jobs inserted in both orders:
    # simultaneous finishers (delays in 1/2 s) with mixed outcomes are common.
    scenarios = st.tuples(
        st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=6),  # 1/2 s, fails
        st.permutations("abcdef"),  # the jobs' names
        st.none() | st.integers(0, 8),  # timeout (k/4 + 1/8) s: never on a job's end
    )

    async def one(
        specs: list[tuple[str, float, bool]], mode: str, timeout: float | None
    ) -> str | None:
        runs = kata.Probes()
        errors = {n: ValueError(f"{n} failed") for n, _, _ in specs}
        delays = {n: delay for n, delay, _ in specs}
        failing = {n for n, _, fails in specs if fails}
        jobs = {
            n: runs.job(delays[n], exc=errors[n] if n in failing else None, name=n) for n in delays
        }
        call = (
            f"{CALL}({{"
            + ", ".join(
                f"{n}={delays[n]:g} s" + (" raising" if n in failing else "") for n in delays
            )
            + f"}}, mode={mode!r}"
            + (f", timeout={timeout:g}" if timeout is not None else "")
            + ")"
        )
        if not delays:
            stop = 0.0
        elif mode == "first_completed":
            stop = min(delays.values())
        elif mode == "first_exception" and failing:
            stop = min(delays[n] for n in failing)
        else:
            stop = max(delays.values())
        if timeout is not None and delays:
            stop = min(stop, timeout)
        done = {
            n: errors[n] if n in failing else f"result-{n}" for n in delays if delays[n] <= stop
        }
        pending = sorted(n for n in delays if delays[n] > stop)

        t0 = kata.now()
        report = await submission.run_and_wait(jobs, mode=mode, timeout=timeout)
        took = kata.now() - t0
        unfinished = sorted(r.name for r in runs.records if r.finally_at is None)
        if not isinstance(report, submission.WaitReport):
            return f"{call} returned {report!r}, not a WaitReport"
        got_done, got_pending = _plain(report.done), _plain(report.pending)
        same_done = (
            type(got_done) is dict
            and got_done.keys() == done.keys()
            and all(
                got_done[n] is v
                if isinstance(v, BaseException)
                else type(got_done[n]) is type(v) and got_done[n] == v
                for n, v in done.items()
            )
        )
        if not same_done or got_pending != pending:
            return (
                f"{call} reported done={got_done!r}, pending={got_pending!r}; expected "
                f"done={done!r}, pending={pending!r}"
            )
        if not stop - kata.T_LOW <= took <= stop + kata.T_HIGH:
            return f"{call} returned after {took:g} s of loop time; expected {stop:g} s"
        if unfinished:
            return (
                f"{call} returned while jobs {unfinished} had not run their cleanup: cancel "
                "the pending jobs and await them before returning"
            )
        return None

    async def check(scenario: tuple[list[tuple[int, bool]], list[str], int | None]) -> Any:
        drawn, names, k = scenario
        # With no jobs it is called without a timeout (README).
        timeout = None if k is None or not drawn else k / 4 + 1 / 8
        specs = [(n, half / 2, fails) for n, (half, fails) in zip(names, drawn, strict=False)]
        for mode in MODES:
            for order in (specs, specs[::-1]):
                if problem := await one(order, mode, timeout):
                    return problem
        return None

    kata.forall(scenarios, check, what=f"{CALL}(jobs, mode=..., timeout=...)", examples=60)
