"""Hidden suite for exercise 11: Debouncer and PeriodicScheduler.

Every check is on the virtual clock. ``fn`` for the debouncer is a recorder of
(loop time, args, thread); scheduler jobs are probe spans named
``<name>#<run>``, so every run's start, cancel and cleanup are on record.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from grader import kata

EXACT = 1e-5


class Calls:
    """A sync ``fn`` that records each call: (loop time, args, thread id)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        self.calls: list[tuple[float, tuple[Any, ...], int]] = []

    def __call__(self, *args: Any) -> None:
        try:
            at = self.loop.time()
        except Exception:  # called from a foreign thread after the check's loop closed
            at = float("nan")
        self.calls.append((at, args, threading.get_ident()))

    def describe(self) -> str:
        if not self.calls:
            return "never"
        return ", ".join(f"at t={t:g} s with args {a!r}" for t, a, _ in self.calls)


async def _until(t: float) -> None:
    """Sleep until loop time ``t`` (the checks start at t=0)."""
    await asyncio.sleep(max(0.0, t - kata.now()))


def _near(a: float, b: float, *, exact: bool) -> bool:
    return (abs(a - b) <= EXACT) if exact else (b - kata.T_LOW <= a <= b + kata.T_HIGH)


def _expect_loop_thread(rec: Calls) -> None:
    foreign = [a for _, a, th in rec.calls if th != rec.thread]
    kata.expect(
        not foreign,
        f"fn was called from another thread (args {foreign[0]!r}) instead of the event loop's: "
        "schedule the call on the loop (loop.call_later), not with threading.Timer"
        if foreign
        else "",
    )


async def _burst(submission: Any) -> Calls:
    """Triggers at 0, 0.3 and 0.6 with wait=0.5, then wait until t=3.0."""
    rec = Calls()
    d = submission.Debouncer(rec, 0.5)
    d.trigger(1)
    await _until(0.3)
    d.trigger(2)
    await _until(0.6)
    d.trigger(3, "x")
    await _until(3.0)
    return rec


BURST = "Debouncer(fn, wait=0.5) triggered at t=0 (1), 0.3 (2) and 0.6 (3, 'x')"


def _settle_is_possible(loop: asyncio.AbstractEventLoop) -> bool:
    ready = getattr(loop, "_ready", ())
    scheduled = getattr(loop, "_scheduled", ())
    return bool(ready) or (bool(scheduled) and scheduled[0].when() <= loop.time())


async def _settle() -> None:
    """Let everything ready at this instant run (a task finishing its cancellation, say)."""
    loop = asyncio.get_running_loop()
    for _ in range(200):
        if not _settle_is_possible(loop):
            return
        await asyncio.sleep(0)


def _live_timers() -> list[asyncio.TimerHandle]:
    """Timer handles still armed (cancelled ones CPython keeps in its heap don't count)."""
    loop = asyncio.get_running_loop()
    return [h for h in getattr(loop, "_scheduled", ()) if not h.cancelled()]


# ----------------------------------------------------------------------------- Debouncer


@kata.check(
    "Debouncer: a burst of triggers makes one call, with the last args", group="behaviour", hint=1
)
async def test_burst_calls_once_with_last_args(submission, probes):
    rec = await _burst(submission)
    _expect_loop_thread(rec)
    if not rec.calls:
        kata.fail(
            f"{BURST}: fn was never called (waited until t=3.0 s). Schedule it on the event "
            "loop with loop.call_later(wait, ...): a threading.Timer counts real seconds, "
            "not loop time"
        )
    kata.expect(
        len(rec.calls) == 1,
        f"{BURST}: fn was called {len(rec.calls)} times ({rec.describe()}); it must be called "
        "once, for the whole burst. Each trigger must cancel the pending call "
        "(TimerHandle.cancel()) before arming a new one: one sleeping task per trigger calls "
        "fn for every trigger",
    )
    kata.expect_equal(
        rec.calls[0][1],
        (3, "x"),
        what=f"{BURST}: the args fn was called with",
        hint="call fn(*args) with the args of the latest trigger",
    )


@kata.check(
    "Debouncer: the call comes `wait` after the last trigger (t=1.1 s, exact)",
    group="timing",
    hint=1,
)
async def test_burst_call_is_wait_after_last_trigger(submission, probes):
    rec = await _burst(submission)
    _expect_loop_thread(rec)
    kata.expect(
        rec.calls,
        f"{BURST}: fn was never called by t=3.0 s; it should be called at t=1.1 s "
        "(0.5 s after the last trigger), on the event loop",
    )
    first = rec.calls[0][0]
    kata.expect(
        abs(first - 1.1) <= EXACT,
        f"{BURST}: fn was first called at t={first:g} s; it should be called exactly at "
        "t=1.1 s, 0.5 s after the *last* trigger"
        + (
            ": an earlier trigger's call was not cancelled (keep the TimerHandle and cancel it)"
            if first < 1.1
            else ": schedule it with loop.call_later(wait, ...) at each trigger; polling "
            "or a fixed tick lands late"
        ),
    )


@kata.check(
    "Debouncer: two separate bursts make two calls (t=0.5 s and t=1.2 s)", group="timing", hint=1
)
async def test_two_bursts_two_calls(submission, probes):
    rec = Calls()
    d = submission.Debouncer(rec, 0.5)
    d.trigger("a")
    await _until(0.7)
    d.trigger("b")
    await _until(3.0)
    _expect_loop_thread(rec)
    what = "Debouncer(fn, wait=0.5) triggered at t=0 ('a') and t=0.7 ('b')"
    kata.expect(
        len(rec.calls) == 2,
        f"{what}: fn was called {len(rec.calls)} time(s) ({rec.describe()}); expected two "
        "calls: ('a',) at t=0.5 s and ('b',) at t=1.2 s. A trigger after the call has "
        "happened starts a new wait",
    )
    for (at, args, _), (want_at, want_args) in zip(
        rec.calls, [(0.5, ("a",)), (1.2, ("b",))], strict=True
    ):
        kata.expect_equal(args, want_args, what=f"{what}: a call's args")
        kata.expect(
            _near(at, want_at, exact=False),
            f"{what}: fn{want_args!r} was called at t={at:g} s; expected t={want_at:g} s, "
            "0.5 s after its trigger",
        )


@kata.check(
    "Debouncer: flush() calls on the next loop iteration, not inside flush",
    group="behaviour",
    hint=2,
)
async def test_flush_calls_on_next_iteration(submission, probes):
    rec = Calls()
    d = submission.Debouncer(rec, 0.5)
    what = "Debouncer(fn, wait=0.5) triggered at t=0 ('a') and flushed at t=0.2"
    d.trigger("a")
    await _until(0.2)
    d.flush()
    kata.expect(
        not rec.calls,
        f"{what}: fn was called inside flush() itself; flush must only schedule the call, "
        "for the next loop iteration (loop.call_soon), so the caller's code after flush() "
        "runs first",
    )
    await _until(3.0)
    _expect_loop_thread(rec)
    kata.expect(
        rec.calls,
        f"{what}: fn was never called (waited until t=3.0 s); flush must run the pending call",
    )
    kata.expect(
        len(rec.calls) == 1,
        f"{what}: fn was called {len(rec.calls)} times ({rec.describe()}); a flushed call "
        "happens once: cancel the pending timer when you flush",
    )
    at, args, _ = rec.calls[0]
    kata.expect_equal(args, ("a",), what=f"{what}: the args fn was called with")
    kata.expect(
        abs(at - 0.2) <= EXACT,
        f"{what}: fn was called at t={at:g} s; a flush runs the call on the next loop "
        "iteration, at t=0.2 s (loop.call_soon), not after the wait",
    )


@kata.check(
    "Debouncer: cancel() drops the pending call and its timer handle", group="cancellation", hint=2
)
async def test_cancel_drops_call_and_handle(submission, probes):
    rec = Calls()
    d = submission.Debouncer(rec, 0.5)
    what = "Debouncer(fn, wait=0.5) triggered at t=0 and cancelled at t=0.2"
    d.trigger("a")
    await _until(0.2)
    d.cancel()
    await _settle()
    live = _live_timers()
    kata.expect(
        not live,
        f"{what}: right after cancel(), {len(live)} timer(s) were still armed on the loop "
        f"(due at t={', '.join(f'{h.when():g}' for h in live)} s): cancel the TimerHandle "
        "itself (handle.cancel()); a flag checked when the timer fires leaves it armed",
    )
    await _until(3.0)
    kata.expect(
        not rec.calls,
        f"{what}: fn was still called ({rec.describe()}); cancel() must drop the pending call",
    )


# ----------------------------------------------------------------------------- Scheduler


@dataclass
class Errors:
    """An ``on_error`` that records (loop time, name, exception)."""

    calls: list[tuple[float, str, BaseException]] = field(default_factory=list)

    def __call__(self, name: str, exc: BaseException) -> None:
        self.calls.append((kata.now(), name, exc))


@dataclass
class RunEnd:
    """What the world looked like the instant run() finished."""

    at: float | None = None
    outcome: str = "running"  # returned, cancelled, raised, hung
    error: BaseException | None = None
    unfinished: list[str] = field(default_factory=list)


def _job(
    probes: kata.Probes,
    name: str,
    duration: float,
    *,
    fail_odd: list[BaseException] | None = None,
    cleanup_yields: int = 0,
) -> Any:
    """A job factory: run ``i`` is the probe span ``<name>#<i>`` lasting ``duration``."""
    count = 0

    async def job() -> None:
        nonlocal count
        i = count
        count += 1
        async with probes.span(f"{name}#{i}"):
            try:
                await asyncio.sleep(duration)
            finally:
                for _ in range(cleanup_yields):  # cleanup that takes a few loop iterations
                    await asyncio.sleep(0)
            if fail_odd is not None and i % 2 == 1:
                raise fail_odd[i]

    return job


async def _watched_run(sched: Any, end: RunEnd, probes: kata.Probes) -> None:
    try:
        await sched.run()
        end.outcome = "returned"
    except asyncio.CancelledError:
        end.outcome = "cancelled"
        raise
    except Exception as exc:
        end.outcome = "raised"
        end.error = exc
        raise
    finally:
        end.at = kata.now()
        end.unfinished = [r.name for r in probes.records if r.finally_at is None]


async def _run_and_stop(sched: Any, stop_at: float, probes: kata.Probes, what: str) -> RunEnd:
    """Start ``sched.run()`` at t=0, call ``stop()`` at ``stop_at``, and wait for run() to end.

    Only the stop check judges *how* run() ended (``_expect_returned``); the others judge
    the schedule, so one mistake in stop() does not fail every check.
    """
    end = RunEnd()
    task = asyncio.ensure_future(_watched_run(sched, end, probes))
    await asyncio.wait({task}, timeout=stop_at - kata.now())
    if task.done():
        if end.outcome == "raised":
            raise end.error  # type: ignore[misc]
        kata.fail(f"{what}: run() {end.outcome} at t={end.at:g} s, before stop() was called")
    sched.stop()
    await asyncio.wait({task}, timeout=5.0)
    if not task.done():
        task.cancel()  # clean up after a run() that ignored stop()
        await asyncio.wait({task}, timeout=5.0)
        end.outcome = "hung"
    if end.outcome == "raised":
        raise end.error  # type: ignore[misc]
    return end


def _expect_returned(end: RunEnd, stop_at: float, what: str) -> None:
    kata.expect(
        end.outcome != "hung",
        f"{what}: stop() was called at t={stop_at:g} s, but run() had not returned 5 s later; "
        "stop() must cancel the runs in flight and let run() return once they are cleaned up",
    )
    kata.expect(
        end.outcome == "returned",
        f"{what}: after stop() at t={stop_at:g} s, run() raised CancelledError instead of "
        "returning: stop() must let run() return normally (if stop() cancels run()'s own "
        "task, run() must catch that cancellation, call uncancel() and return)",
    )


def _starts(probes: kata.Probes, name: str) -> list[float]:
    return [
        r.started for r in probes.records if r.name.startswith(f"{name}#") and r.started is not None
    ]


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in times) + "]"


DRIFT = (
    "sleeping `interval` after each run drifts by the job's duration; compute tick k as "
    "start + k * interval from the start of run() (loop.time())"
)
CATCH_UP = (
    "the missed ticks were run late, back to back (a catch-up burst); a tick that finds the "
    "previous run still running is skipped, and the next run waits for the next tick on the grid"
)


def _diagnose(got: list[float], duration: float, interval: float) -> str | None:
    """Name the classic mistakes from the gap between the first two starts."""
    if len(got) < 2:
        return None
    gap = got[1] - got[0]
    if abs(gap - (duration + interval)) <= 0.01:
        return DRIFT
    if duration > interval and abs(gap - duration) <= 0.01:
        return CATCH_UP
    return None


def _expect_starts(
    probes: kata.Probes,
    name: str,
    expected: list[float],
    what: str,
    why: str,
    *,
    duration: float,
    interval: float,
    diagnose: bool = True,
) -> None:
    got = _starts(probes, name)
    ok = len(got) == len(expected) and all(
        abs(a - b) <= EXACT for a, b in zip(got, expected, strict=False)
    )
    reason = (_diagnose(got, duration, interval) if diagnose else None) or why
    n = len(expected)
    if len(got) > n and all(abs(a - b) <= EXACT for a, b in zip(got[:n], expected, strict=True)):
        reason = (
            "the schedule was right, but runs kept starting after stop() was called: stop() "
            "must cancel the pending ticks (and the runs in flight) and let run() return"
        )
    kata.expect(
        ok,
        f"{what}: the job's runs started at t={_fmt(got)} s; expected exactly t={_fmt(expected)} s: {reason}",
    )


@kata.check(
    "Scheduler: a 0.3 s job every 1.0 s starts at t=0, 1, 2, 3, 4 (exact)", group="timing", hint=3
)
async def test_fixed_rate_starts(submission, probes):
    errors = Errors()
    sched = submission.PeriodicScheduler(on_error=errors)
    sched.every(1.0, _job(probes, "tick", 0.3), name="tick")
    what = "PeriodicScheduler with a 0.3 s job every 1.0 s, stopped at t=4.5"
    await _run_and_stop(sched, 4.5, probes, what)
    _expect_starts(
        probes,
        "tick",
        [0.0, 1.0, 2.0, 3.0, 4.0],
        what,
        "the schedule is fixed-rate: the first run starts when run() starts, then one "
        "every interval, on the grid start + k * interval",
        duration=0.3,
        interval=1.0,
    )


@kata.check(
    "Scheduler: a 2.5 s job every 1.0 s starts at t=0, 3, 6 and never overlaps",
    group="behaviour",
    hint=4,
)
async def test_long_job_skips_missed_ticks(submission, probes):
    sched = submission.PeriodicScheduler(on_error=Errors())
    sched.every(1.0, _job(probes, "slow", 2.5), name="slow")
    what = "PeriodicScheduler with a 2.5 s job every 1.0 s, stopped at t=7.0"
    await _run_and_stop(sched, 7.0, probes, what)
    kata.expect(
        probes.peak <= 1,
        f"{what}: {probes.peak} runs of the same job were running at once (starts at "
        f"t={_fmt(_starts(probes, 'slow'))} s): a job never overlaps itself. At each tick, "
        "skip it if the previous run is still running",
    )
    _expect_starts(
        probes,
        "slow",
        [0.0, 3.0, 6.0],
        what,
        "ticks that fall while the previous run is still running are skipped (not queued, not "
        "run late): the next run waits for the next tick on the grid, t=3.0 s",
        duration=2.5,
        interval=1.0,
    )


@kata.check(
    "Scheduler: a run that ends exactly on a tick lets that tick start", group="behaviour", hint=4
)
async def test_run_ending_on_a_tick(submission, probes):
    sched = submission.PeriodicScheduler(on_error=Errors())
    sched.every(1.0, _job(probes, "exact", 1.0), name="exact")
    what = "PeriodicScheduler with a 1.0 s job every 1.0 s, stopped at t=3.5"
    await _run_and_stop(sched, 3.5, probes, what)
    kata.expect(
        probes.peak <= 1,
        f"{what}: {probes.peak} runs of the same job were running at once: a job never "
        "overlaps itself",
    )
    _expect_starts(
        probes,
        "exact",
        [0.0, 1.0, 2.0, 3.0],
        what,
        "each run ends at the very instant of the next tick, and a run that ends exactly on a "
        "tick lets that tick start. The tick's callback may run a moment before the finished "
        "run's task has completed at that same instant: don't count such a run as still running",
        duration=1.0,
        interval=1.0,
        diagnose=False,
    )


@kata.check(
    "Scheduler: a job failing every other run goes to on_error and keeps its cadence",
    group="cancellation",
    hint=5,
)
async def test_failing_job_keeps_cadence(submission, probes):
    raised = [ValueError(f"run {i} failed") for i in range(10)]
    errors = Errors()
    sched = submission.PeriodicScheduler(on_error=errors)
    sched.every(1.0, _job(probes, "flaky", 0.3, fail_odd=raised), name="flaky")
    what = "PeriodicScheduler with a 0.3 s job every 1.0 s that fails on every other run, stopped at t=4.5"
    await _run_and_stop(sched, 4.5, probes, what)
    _expect_starts(
        probes,
        "flaky",
        [0.0, 1.0, 2.0, 3.0, 4.0],
        what,
        "a failing run must not disturb the schedule: catch the job's exception, hand it to "
        "on_error, and keep ticking on the same grid",
        duration=0.3,
        interval=1.0,
    )
    reported = [(name, exc) for _, name, exc in errors.calls]
    expected = [("flaky", raised[1]), ("flaky", raised[3])]
    kata.expect(
        len(reported) == 2
        and all(
            n == en and type(n) is str and e is ee
            for (n, e), (en, ee) in zip(reported, expected, strict=True)
        ),
        f"{what}: on_error received {reported!r}; expected {expected!r}: call "
        "on_error(name, exc) once per failed run, with the job's name and the very exception it raised",
    )


@kata.check(
    "Scheduler: stop() during runs cancels them, awaits their cleanup, run() returns at t=4.5 s",
    group="cancellation",
    hint=5,
)
async def test_stop_cancels_runs_and_returns(submission, probes):
    sched = submission.PeriodicScheduler(on_error=Errors())
    sched.every(2.0, _job(probes, "a", 1.0, cleanup_yields=3), name="a")
    sched.every(3.0, _job(probes, "b", 2.0, cleanup_yields=3), name="b")
    what = (
        "PeriodicScheduler with job 'a' (1.0 s every 2.0 s) and job 'b' (2.0 s every 3.0 s), "
        "stopped at t=4.5 while a#2 (started at t=4) and b#1 (started at t=3) were running"
    )
    t0 = kata.now()
    end = await _run_and_stop(sched, 4.5, probes, what)
    _expect_returned(end, 4.5, what)
    assert end.at is not None
    kata.expect(
        _near(end.at - t0, 4.5, exact=False),
        f"{what}: run() returned at t={end.at:g} s; it should return at t=4.5 s, as soon as the "
        "cancelled runs have cleaned up",
    )
    kata.expect(
        not end.unfinished,
        f"{what}: when run() returned, run(s) {end.unfinished} had not finished their cleanup: "
        "stop() cancels the runs in flight, and run() must await them (their `finally`) "
        "before it returns",
    )
    for name in ("a#2", "b#1"):
        rec = next((r for r in probes.records if r.name == name), None)
        kata.expect(
            rec is not None and rec.cancelled is not None and abs(rec.cancelled - 4.5) <= EXACT,
            f"{what}: "
            + (
                f"run {name} never started (runs: {[r.name for r in probes.records]}), so the "
                "check could not see stop() cancel it: the schedule itself is off (see the "
                "other scheduler checks)"
                if rec is None
                else f"run {name} was not cancelled at t=4.5 s (it ended at t={rec.ended}): "
                "stop() must cancel the runs in flight"
            ),
        )
    await asyncio.sleep(5.0)
    late = [r.name for r in probes.records if r.started is not None and r.started > 4.5 + EXACT]
    kata.expect(
        not late,
        f"{what}: run(s) {late} started after stop(); stop() must cancel every pending tick",
    )
