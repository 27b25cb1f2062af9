"""Hidden suite for exercise 08: all_or_nothing (TaskGroup) and fail_fast (bare first error).

Every check is on the virtual clock. The standard jobs are [1.0 s ok, 0.5 s
ValueError, 2.0 s ok]; probes record when each job started, ended, saw its
cancellation and ran its ``finally``. "Cleanup finished before you raised" is
judged at the very instant the submission's exception reaches its caller (the
same step of the event loop), not a loop cycle later, when a cancelled but
un-awaited job would already have caught up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from grader import kata
from grader.kata import strategies as st

AON = "all_or_nothing"
FF = "fail_fast"
MIXED = "[1.0 s ok, 0.5 s ValueError, 2.0 s ok]"
MIXED_CLEANUP = "[1.0 s ok whose finally raises RuntimeError, 0.5 s ValueError, 2.0 s ok]"
OK_RESULTS = ["result-job0", "result-job1", "result-job2"]


# -- jobs ---------------------------------------------------------------------


def _cleanup_fails(
    probes: kata.Probes, delay: float, name: str, error: BaseException
) -> Callable[[], Awaitable[Any]]:
    """A job of ``delay`` s whose ``finally`` block raises ``error`` (cancelled or not)."""

    async def run() -> Any:
        async with probes.span(name) as rec:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                rec.cancelled = asyncio.get_running_loop().time()
                raise
            finally:
                raise error  # a cleanup that itself fails
        return f"result-{name}"  # pragma: no cover - never reached

    return run


def _mixed(
    probes: kata.Probes, *, cleanup_error: BaseException | None = None
) -> tuple[list[Any], ValueError]:
    """[1.0 s ok, 0.5 s ValueError, 2.0 s ok]; job0's finally raises ``cleanup_error`` if given."""
    boom = ValueError("job1 failed")
    first = (
        probes.job(1.0, name="job0")
        if cleanup_error is None
        else _cleanup_fails(probes, 1.0, "job0", cleanup_error)
    )
    return [first, probes.job(0.5, exc=boom, name="job1"), probes.job(2.0, name="job2")], boom


def _all_ok(probes: kata.Probes) -> list[Any]:
    return probes.jobs([1.0, 0.5, 2.0])


# -- helpers ------------------------------------------------------------------


async def _raised(call: Awaitable[Any], what: str) -> Exception:
    """Await ``call`` and return the exception it raised; fail if it returned."""
    try:
        got = await call
    except Exception as exc:  # CancelledError is not an Exception: it escapes as a failure
        _untangle(exc)
        return exc
    kata.fail(
        f"{what} returned {got!r} although job1 raised ValueError at t=0.5 s; "
        "a failing job must make the call raise"
    )
    raise AssertionError("unreachable")  # pragma: no cover


def _untangle(exc: BaseException | None, depth: int = 0) -> None:
    """Drop the tracebacks of an exception the check caught (and of its members).

    The probes keep the job's exception object alive until the check is torn
    down, and its traceback would keep the submission's frames (and the tasks
    they hold) alive with it. Cutting it lets the leak gate's garbage
    collection find a task whose exception was never retrieved in *this* check.
    """
    if exc is None or depth > 5:
        return
    exc.__traceback__ = None
    for member in getattr(exc, "exceptions", ()):
        _untangle(member, depth + 1)
    _untangle(exc.__context__, depth + 1)
    _untangle(exc.__cause__, depth + 1)


def _unfinished(probes: kata.Probes) -> list[str]:
    return [r.name for r in probes.records if r.finally_at is None]


async def _siblings_report(
    probes: kata.Probes, raised_at: float, unfinished: list[str], what: str
) -> None:
    """Both siblings (job0, job2) must have been cancelled and have finished cleaning up.

    ``unfinished`` was taken in the step the exception reached the caller. A few
    loop cycles later (same loop time, so the leak gate still runs "immediately")
    tells a job cancelled but not awaited from a job nobody cancelled.
    """
    if unfinished:
        for _ in range(3):
            await asyncio.sleep(0)
        late = [n for n in unfinished if probes.get(n).finally_at is not None]
        running = [n for n in unfinished if n not in late]
        if late:
            kata.fail(
                f"{what} raised at t={raised_at:g} s before job(s) {late} had finished their "
                "cleanup: they were cancelled, but their `finally` only ran after you had "
                "already raised. task.cancel() only asks a task to stop: await the cancelled "
                "tasks (e.g. gather(*tasks, return_exceptions=True)) before raising, or let a "
                "TaskGroup do it"
            )
        kata.fail(
            f"{what} raised at t={raised_at:g} s while job(s) {running} were still running, "
            "never cancelled: plain gather re-raises the first error but leaves the other jobs "
            "running; cancel them and wait for their cleanup before raising"
        )
    for name in ("job0", "job2"):
        rec = probes.get(name)
        if rec.cancelled is None:
            ended = (
                f"it ran to its end at t={rec.ended:g} s"
                if rec.ended is not None
                else "it was never cancelled"
            )
            kata.fail(
                f"{what}: {name} was still running when job1 failed at t=0.5 s, but {ended}. "
                "The first failure must cancel the other jobs at once; don't wait for all of "
                "them (gather(return_exceptions=True)) before reacting"
            )
        kata.expect(
            rec.cancelled <= 0.5 + 1e-9,
            f"{what}: {name} was cancelled at t={rec.cancelled:g} s, not when job1 failed "
            "at t=0.5 s",
        )


def _show(exc: BaseException) -> str:
    return repr(exc)


# -- behaviour ------------------------------------------------------------------


@kata.check("all_or_nothing returns the results in input order", group="behaviour", hint=1)
async def test_all_or_nothing_results_in_order(submission, probes):
    got = await submission.all_or_nothing(_all_ok(probes))
    kata.expect_equal(
        got,
        OK_RESULTS,
        what=f"{AON}([1.0 s, 0.5 s, 2.0 s jobs])",
        hint="keep each result at its input position (task.result() in the order you created "
        "the tasks), not in completion order, and return a list",
    )


@kata.check("fail_fast returns the results in input order", group="behaviour", hint=1)
async def test_fail_fast_results_in_order(submission, probes):
    got = await submission.fail_fast(_all_ok(probes))
    kata.expect_equal(
        got,
        OK_RESULTS,
        what=f"{FF}([1.0 s, 0.5 s, 2.0 s jobs])",
        hint="keep each result at its input position, not in completion order, and return a list",
    )


@kata.check("all_or_nothing raises an ExceptionGroup of the real error", group="behaviour", hint=2)
async def test_all_or_nothing_raises_group(submission, probes):
    factories, boom = _mixed(probes)
    what = f"{AON}({MIXED})"
    exc = await _raised(submission.all_or_nothing(factories), what)
    if not isinstance(exc, ExceptionGroup):
        tail = (
            "you unwrapped the group: that is fail_fast's job; all_or_nothing lets the "
            "TaskGroup's ExceptionGroup propagate"
            if exc is boom
            else "let the TaskGroup's ExceptionGroup propagate"
        )
        kata.fail(
            f"{what} raised {_show(exc)}; expected an ExceptionGroup holding job1's "
            f"ValueError: {tail}"
        )
    members = list(exc.exceptions)
    kata.expect(
        len(members) == 1 and members[0] is boom,
        f"{what} raised {_show(exc)}; expected a flat ExceptionGroup whose only member is the "
        f"very ValueError job1 raised ({boom!r}), not a copy, not a nested group",
    )


@kata.check("fail_fast raises the very first error, bare", group="behaviour", hint=4)
async def test_fail_fast_raises_bare_error(submission, probes):
    factories, boom = _mixed(probes)
    what = f"{FF}({MIXED})"
    exc = await _raised(submission.fail_fast(factories), what)
    if isinstance(exc, BaseExceptionGroup):
        kata.fail(
            f"{what} raised the group {_show(exc)}; fail_fast must raise the bare first "
            "error, as gather does: catch the group with `except* Exception as eg:` and "
            "raise eg.exceptions[0]"
        )
    kata.expect(
        exc is boom,
        f"{what} raised {_show(exc)}; expected the very ValueError job1 raised ({boom!r}): "
        "re-raise the job's own exception object, don't build a new one",
    )


# -- timing ---------------------------------------------------------------------


@kata.check("all_or_nothing runs the jobs concurrently (2.0 s)", group="timing", hint=1)
async def test_all_or_nothing_runs_concurrently(submission, probes):
    t0 = kata.now()
    await submission.all_or_nothing(_all_ok(probes))
    kata.expect_time(
        t0,
        2.0,
        what=f"{AON}([1.0 s, 0.5 s, 2.0 s jobs])",
        hint="all three run at once, so it takes as long as the slowest job (2.0 s); one after "
        "the other takes 3.5 s: are you awaiting each job in turn?",
    )


@kata.check("fail_fast runs the jobs concurrently (2.0 s)", group="timing", hint=1)
async def test_fail_fast_runs_concurrently(submission, probes):
    t0 = kata.now()
    await submission.fail_fast(_all_ok(probes))
    kata.expect_time(
        t0,
        2.0,
        what=f"{FF}([1.0 s, 0.5 s, 2.0 s jobs])",
        hint="all three run at once, so it takes as long as the slowest job (2.0 s); one after "
        "the other takes 3.5 s: are you awaiting each job in turn?",
    )


@kata.check("all_or_nothing raises at the first failure (0.5 s)", group="timing", hint=3)
async def test_all_or_nothing_fails_at_first_error(submission, probes):
    factories, _ = _mixed(probes)
    what = f"{AON}({MIXED})"
    t0 = kata.now()
    await _raised(submission.all_or_nothing(factories), what)
    kata.expect_time(
        t0,
        0.5,
        what=f"{what} raising",
        hint="it must raise as soon as job1 fails at 0.5 s; waiting for every job "
        "(gather(return_exceptions=True), then a group) takes 2.0 s",
    )


@kata.check("fail_fast raises at the first failure (0.5 s)", group="timing", hint=3)
async def test_fail_fast_fails_at_first_error(submission, probes):
    factories, _ = _mixed(probes)
    what = f"{FF}({MIXED})"
    t0 = kata.now()
    await _raised(submission.fail_fast(factories), what)
    kata.expect_time(
        t0,
        0.5,
        what=f"{what} raising",
        hint="it must raise as soon as job1 fails at 0.5 s (the siblings' cleanup here takes no "
        "time); are you waiting for every job to finish first?",
    )


# -- cancellation and errors ------------------------------------------------------


@kata.check(
    "all_or_nothing: the siblings are cancelled and cleaned up before the group is raised",
    group="cancellation",
    hint=2,
)
async def test_all_or_nothing_siblings_cleaned_up(submission, probes):
    factories, _ = _mixed(probes)
    what = f"{AON}({MIXED})"
    try:
        await submission.all_or_nothing(factories)
    except Exception as exc:
        unfinished = _unfinished(probes)  # in the very step the exception arrived
        raised_at = kata.now()
        _untangle(exc)
    else:
        kata.fail(f"{what} returned although job1 raised ValueError at t=0.5 s")
    await _siblings_report(probes, raised_at, unfinished, what)


@kata.check(
    "fail_fast: the siblings are cancelled and cleaned up before the error is raised",
    group="cancellation",
    hint=5,
)
async def test_fail_fast_siblings_cleaned_up(submission, probes):
    # No sleep after the call: the leak gate runs right away, so a sibling
    # left running (plain gather) is reported as a leaked task too.
    factories, _ = _mixed(probes)
    what = f"{FF}({MIXED})"
    try:
        await submission.fail_fast(factories)
    except Exception as exc:
        unfinished = _unfinished(probes)  # in the very step the exception arrived
        raised_at = kata.now()
        _untangle(exc)
    else:
        kata.fail(f"{what} returned although job1 raised ValueError at t=0.5 s")
    await _siblings_report(probes, raised_at, unfinished, what)


@kata.check(
    "all_or_nothing: an error in a sibling's cleanup joins the group, after the first failure",
    group="cancellation",
    hint=2,
)
async def test_all_or_nothing_cleanup_error_joins_group(submission, probes):
    cleanup = RuntimeError("job0's cleanup failed")
    factories, boom = _mixed(probes, cleanup_error=cleanup)
    what = f"{AON}({MIXED_CLEANUP})"
    exc = await _raised(submission.all_or_nothing(factories), what)
    kata.expect(
        isinstance(exc, ExceptionGroup),
        f"{what} raised {_show(exc)}; expected an ExceptionGroup of both errors",
    )
    members = list(exc.exceptions)
    if len(members) == 2 and members[0] is cleanup and members[1] is boom:
        kata.fail(
            f"{what} raised {_show(exc)}: the members are in input order (or job0 was not "
            "cancelled and failed later on its own); expected the order the errors happened: "
            "job1's ValueError first (t=0.5 s), then the RuntimeError job0 raised while being "
            "cancelled, as a TaskGroup collects them"
        )
    if len(members) == 1 and members[0] is boom:
        kata.fail(
            f"{what} raised {_show(exc)}: job0's RuntimeError from its cleanup is missing. "
            "Errors raised by the siblings while they are cancelled belong in the group too: "
            "a TaskGroup collects them"
        )
    kata.expect(
        len(members) == 2 and members[0] is boom and members[1] is cleanup,
        f"{what} raised {_show(exc)}; expected a flat ExceptionGroup of exactly [{boom!r}, "
        f"{cleanup!r}] (the very objects, first failure first)",
    )


@kata.check(
    "fail_fast: a later error in a sibling's cleanup does not replace the first",
    group="cancellation",
    hint=4,
)
async def test_fail_fast_keeps_first_error(submission, probes):
    cleanup = RuntimeError("job0's cleanup failed")
    factories, boom = _mixed(probes, cleanup_error=cleanup)
    what = f"{FF}({MIXED_CLEANUP})"
    exc = await _raised(submission.fail_fast(factories), what)
    if exc is cleanup:
        kata.fail(
            f"{what} raised job0's cleanup error {cleanup!r}, which happened after job1's "
            f"{boom!r}: raise the first failure in time (the TaskGroup's first member), not "
            "the first one in input order or the last one seen"
        )
    if isinstance(exc, BaseExceptionGroup):
        kata.fail(
            f"{what} raised the group {_show(exc)}; fail_fast must raise the bare first "
            "error: `except* Exception as eg: raise eg.exceptions[0]`"
        )
    kata.expect(
        exc is boom,
        f"{what} raised {_show(exc)}; expected the very ValueError job1 raised ({boom!r}): "
        "re-raise the job's own exception object, not a copy",
    )


async def _caller_cancel(submission: Any, probes: kata.Probes, func: str) -> None:
    factories, _ = _mixed(probes)
    what = f"{func}({MIXED})"
    seen: dict[str, Any] = {}

    async def caller() -> Any:
        try:
            return await getattr(submission, func)(factories)
        except BaseException as exc:
            # Taken in the very step the exception left the submission.
            seen["exc"] = exc
            seen["unfinished"] = _unfinished(probes)
            _untangle(exc)
            raise

    t0 = kata.now()
    call = asyncio.ensure_future(caller())
    await asyncio.sleep(0.3)
    call.cancel()
    try:
        got = await call
    except asyncio.CancelledError:
        pass
    except BaseException as exc:
        kata.fail(
            f"{what} was cancelled at t=0.3 s and raised {_show(exc)}; expected a plain "
            "CancelledError: don't wrap it in a group or replace it"
        )
    else:
        kata.fail(
            f"{what} was cancelled at t=0.3 s but returned {got!r}; the cancellation must "
            "propagate as CancelledError (don't catch and swallow it)"
        )
    exc = seen.get("exc")
    kata.expect(
        isinstance(exc, asyncio.CancelledError),
        f"{what} was cancelled at t=0.3 s and raised {exc!r}; expected a plain CancelledError",
    )
    kata.expect_time(
        t0,
        0.3,
        what=f"{what} cancelled at t=0.3 s, until its CancelledError arrived",
        hint="the jobs' cleanup takes no time here, so the cancellation should come back at once",
    )
    kata.expect(
        not seen["unfinished"],
        f"{what} was cancelled at t=0.3 s and let the CancelledError out while job(s) "
        f"{seen['unfinished']} had not finished their cleanup: cancel the running jobs and "
        "await them before the cancellation propagates",
    )
    not_cancelled = [r.name for r in probes.records if r.cancelled is None]
    kata.expect(
        not not_cancelled,
        f"{what} was cancelled at t=0.3 s, but job(s) {not_cancelled} were not cancelled "
        "with it: a cancel of the caller must cancel every running job",
    )


@kata.check(
    "all_or_nothing: a cancel of the caller cancels the jobs and propagates",
    group="cancellation",
    hint=6,
)
async def test_all_or_nothing_caller_cancel(submission, probes):
    await _caller_cancel(submission, probes, AON)


@kata.check(
    "fail_fast: a cancel of the caller cancels the jobs and propagates",
    group="cancellation",
    hint=6,
)
async def test_fail_fast_caller_cancel(submission, probes):
    await _caller_cancel(submission, probes, FF)


# -- the cancellation sweep and the property ------------------------------------


class _SweepRun:
    """One run of the sweep's scenario: what its jobs saw, and the caller's view.

    A cancel of the caller's task raises its ``cancelling()`` count at once, so
    a job can tell, when it starts, ends or is cancelled, whether the caller had
    already been cancelled: in a correct solution that all happens at the very
    instant of the cancel (a job's cleanup may take longer, and must be awaited).
    """

    def __init__(self, probes: kata.Probes) -> None:
        self.probes = probes
        self.caller = asyncio.current_task()
        self.t0 = kata.now()
        self.after: list[tuple[float, str]] = []
        self.raised_at: float | None = None
        self.unfinished_at_raise: list[str] = []

    def note(self, what: str) -> None:
        if self.caller is not None and self.caller.cancelling():
            self.after.append((kata.now(), what))

    def job(self, name: str, delay: float, cleanup: float = 0.0) -> Callable[[], Awaitable[Any]]:
        """A job of ``delay`` s; its ``finally`` takes ``cleanup`` s (closing a connection)."""

        async def run() -> str:
            self.note(f"{name} started")
            async with self.probes.span(name):
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    self.note(f"{name} was cancelled")
                    raise
                finally:
                    if cleanup:
                        await asyncio.sleep(cleanup)
                self.note(f"{name} finished")
                return f"result-{name}"

        return run

    def problem(self) -> str | None:
        rel = self.t0
        if self.unfinished_at_raise:
            return (
                f"the CancelledError reached the caller at t={self.raised_at - rel:g} s while "
                f"job(s) {self.unfinished_at_raise} had not finished their cleanup: cancel the "
                "running jobs and await them (their cleanup may take a while) before the "
                "cancellation propagates"
            )
        seen = [t for t, _ in self.after]
        if not seen:
            return None
        first = min(seen)
        late = [(t, what) for t, what in self.after if t > first + 1e-9]
        if late:
            t, what = late[0]
            return (
                f"the caller was cancelled by t={first - rel:g} s, but {what} at "
                f"t={t - rel:g} s: a cancel of the caller must cancel every running job at once"
            )
        return None


@kata.check(
    "cancellation sweep: a cancel at any instant cancels the jobs and awaits their cleanup",
    group="cancellation",
    hint=6,
)
async def test_cancellation_sweep(submission, probes):
    # No job fails here: an outside cancel and a job's failure at the same instant
    # may end either way (a TaskGroup lets the errors win).
    runs_of: dict[int, _SweepRun] = {}

    async def scenario(runs: kata.Probes) -> None:
        runs_of[id(runs)] = run = _SweepRun(runs)
        phases = [
            (AON, [run.job("a0", 1.0), run.job("a1", 0.5), run.job("a2", 2.0, cleanup=0.25)]),
            (FF, [run.job("f0", 0.75, cleanup=0.25), run.job("f1", 0.5), run.job("f2", 1.5)]),
        ]
        for func, factories in phases:
            try:
                await getattr(submission, func)(factories)
            except asyncio.CancelledError:
                run.raised_at = kata.now()
                run.unfinished_at_raise = _unfinished(runs)  # in the very step it arrived
                raise
            except BaseException as exc:
                _untangle(exc)
                raise RuntimeError(
                    f"{func} raised {exc!r}, although none of its jobs failed"
                    + (
                        "; a cancel must come out as a plain CancelledError"
                        if not isinstance(exc, Exception)
                        else ""
                    )
                ) from None

    def cancelled_and_cleaned_up(runs: kata.Probes) -> str | None:
        return runs_of[id(runs)].problem()

    await kata.sweep(
        scenario,
        what=f"{AON}([1.0 s, 0.5 s, 2.0 s with a 0.25 s cleanup]), then "
        f"{FF}([0.75 s with a 0.25 s cleanup, 0.5 s, 1.5 s])",
        invariant=cancelled_and_cleaned_up,
        record=probes,
    )


@kata.check(
    "any jobs: results in order, or the failures of the first failing instant, cleaned up "
    "(property, 60 scenarios)",
    group="behaviour",
    hint=2,
)
def test_property_first_failing_instant(submission):

    # Delays in 1/2 s, so jobs often end (and fail) at the same instant.
    scenarios = st.lists(st.tuples(st.integers(1, 3), st.booleans()), min_size=1, max_size=5)

    async def one(func: str, drawn: list[tuple[int, bool]]) -> str | None:
        runs = kata.Probes()
        delays = [half / 2 for half, _ in drawn]
        errors = [
            ValueError(f"job{i} failed") if fails else None for i, (_, fails) in enumerate(drawn)
        ]
        factories = [
            runs.job(delay, exc=exc, name=f"job{i}")
            for i, (delay, exc) in enumerate(zip(delays, errors, strict=True))
        ]
        call = (
            f"{func}(["
            + ", ".join(
                f"{d:g} s" + (" ValueError" if e is not None else " ok")
                for d, e in zip(delays, errors, strict=True)
            )
            + "])"
        )
        failing = [i for i, e in enumerate(errors) if e is not None]
        t0 = kata.now()
        try:
            got = await getattr(submission, func)(factories)
        except Exception as exc:
            unfinished = _unfinished(runs)  # in the very step it arrived
            took = kata.now() - t0
            _untangle(exc)
            if not failing:
                return f"{call} raised {exc!r}, although no job failed"
            first = min(delays[i] for i in failing)
            real = {id(errors[i]): errors[i] for i in failing if delays[i] == first}
            if func == AON:
                members = list(exc.exceptions) if isinstance(exc, ExceptionGroup) else None
                if (
                    members is None
                    or {id(m) for m in members} != set(real)
                    or len(members) != len(real)
                ):
                    return (
                        f"{call} raised {exc!r}; expected an ExceptionGroup of exactly the "
                        f"failures at t={first:g} s, the first failing instant: "
                        f"{list(real.values())!r} (in any order: they happened together)"
                    )
            elif id(exc) not in real:
                return (
                    f"{call} raised {exc!r}; expected, bare, the very error of a job failing "
                    f"at t={first:g} s, the first failing instant: one of {list(real.values())!r}"
                )
            if not first - kata.T_LOW <= took <= first + kata.T_HIGH:
                return f"{call} raised after {took:g} s of loop time; expected {first:g} s"
            if unfinished:
                return (
                    f"{call} raised while job(s) {unfinished} had not finished their cleanup: "
                    "cancel the other jobs and await them before raising"
                )
            for i, delay in enumerate(delays):
                rec = runs.get(f"job{i}")
                if delay > first and rec.cancelled is None:
                    return (
                        f"{call}: job{i} ({delay:g} s) was still running when the first failure "
                        f"happened at t={first:g} s, but it was never cancelled"
                    )
            return None
        took = kata.now() - t0
        if failing:
            return f"{call} returned {got!r}, although job(s) {failing} failed"
        want = [f"result-job{i}" for i in range(len(delays))]
        if type(got) is not list or got != want:
            return f"{call} returned {got!r}; expected {want!r} (input order)"
        if not max(delays) - kata.T_LOW <= took <= max(delays) + kata.T_HIGH:
            return f"{call} took {took:g} s of loop time; expected {max(delays):g} s (the slowest)"
        return None

    async def check(drawn: list[tuple[int, bool]]) -> str | None:
        for func in (AON, FF):
            if problem := await one(func, drawn):
                return problem
        return None

    kata.forall(scenarios, check, what=f"{AON} and {FF}", examples=60)
