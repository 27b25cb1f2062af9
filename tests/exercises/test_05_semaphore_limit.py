"""Hidden suite for exercise 05: bounded_gather.

Every check is on the virtual clock; probes record when each job started,
ended, saw a cancel and ran its ``finally``.
"""

from __future__ import annotations

import asyncio

from grader import kata
from grader.kata import strategies as st

CALL = "bounded_gather"


def _jobs(probes: kata.Probes, delays: list[float]) -> list:
    return probes.jobs(delays)


@kata.check("results come back in input order", group="behaviour", hint=4)
async def test_results_in_input_order(submission, probes):
    got = await submission.bounded_gather(_jobs(probes, [3, 1, 2, 0.5]), 2)
    kata.expect_equal(
        got,
        ["result-job0", "result-job1", "result-job2", "result-job3"],
        what=f"{CALL}(jobs of 3, 1, 2, 0.5 s, limit=2)",
        hint="keep each result at its input position, not in completion order",
    )


@kata.check("never more than `limit` jobs at once, and exactly `limit`", group="behaviour", hint=2)
async def test_peak_is_exactly_limit(submission, probes):
    await submission.bounded_gather(_jobs(probes, [1.0] * 10), 3)
    kata.expect(
        probes.peak == 3,
        f"{CALL}(10 jobs of 1.0 s, limit=3) ran at most {probes.peak} at once; "
        "it must run exactly 3 at a time"
        + (
            ": is the semaphore really limiting?"
            if probes.peak > 3
            else ": start all jobs as tasks and let the semaphore hold back the extra ones"
        ),
    )


@kata.check("each call has its own limit", group="behaviour", hint=2)
async def test_two_calls_each_get_their_own_limit(submission, probes):
    first = probes.jobs([1.0] * 4, prefix="a")
    second = probes.jobs([1.0] * 4, prefix="b")
    await asyncio.gather(submission.bounded_gather(first, 2), submission.bounded_gather(second, 2))
    kata.expect(
        probes.peak == 4,
        f"two concurrent calls of {CALL}(4 jobs, limit=2) ran at most {probes.peak} jobs at "
        "once; each call may run 2, so 4 in total"
        + (
            ": is your semaphore shared between calls (created at module level)?"
            if probes.peak < 4
            else ": is the limit enforced?"
        ),
    )


@kata.check("a failure fills its slot with return_exceptions=True", group="behaviour", hint=5)
async def test_return_exceptions_fills_slots(submission, probes):
    errors = [ValueError("a"), KeyError("b")]
    factories = [
        probes.job(0.5, exc=errors[0], name="bad0"),
        probes.job(1.0, name="ok1"),
        probes.job(0.2, exc=errors[1], name="bad2"),
    ]
    got = await submission.bounded_gather(factories, 2, return_exceptions=True)
    kata.expect(
        isinstance(got, list)
        and len(got) == 3
        and got[0] is errors[0]
        and got[2] is errors[1]
        and got[1] == "result-ok1",
        f"{CALL}(..., return_exceptions=True) returned {got!r}; expected "
        f"[{errors[0]!r}, 'result-ok1', {errors[1]!r}] with the very exception objects raised",
    )


@kata.check("limit < 1 raises ValueError before anything starts", group="behaviour", hint=1)
async def test_bad_limit(submission, probes):
    for limit in (0, -1):
        try:
            await submission.bounded_gather(_jobs(probes, [1.0]), limit)
        except ValueError:
            pass
        else:
            kata.fail(f"{CALL}(..., limit={limit}) returned instead of raising ValueError")
        kata.expect(
            not probes.started(),
            f"{CALL}(..., limit={limit}) started a job before rejecting the limit",
        )


@kata.check("ten 1-second jobs with limit 3 take 4.0 s", group="timing", hint=3)
async def test_ten_jobs_take_four_seconds(submission, probes):
    t0 = kata.now()
    await submission.bounded_gather(_jobs(probes, [1.0] * 10), 3)
    kata.expect_time(
        t0,
        4.0,
        what=f"{CALL}(10 jobs of 1.0 s, limit=3)",
        hint="with 3 at a time it should take 4.0 s (one at a time takes 10.0 s): "
        "are you awaiting each job in turn?",
        too_fast="did more than 3 jobs run at once?",
    )


@kata.check("a slot is reused the moment it frees (no batching)", group="timing", hint=3)
async def test_slot_frees_immediately(submission, probes):
    t0 = kata.now()
    await submission.bounded_gather(_jobs(probes, [3, 1, 1, 1, 1, 1]), 3)
    kata.expect_time(
        t0,
        3.0,
        what=f"{CALL}(jobs of 3, 1, 1, 1, 1, 1 s, limit=3)",
        hint="the short jobs should flow through the two free slots while the 3 s job runs; "
        "running fixed batches of 3 with gather waits for the slowest of each batch",
    )


@kata.check("failed jobs free their slot (return_exceptions=True)", group="timing", hint=2)
async def test_return_exceptions_frees_slot(submission, probes):
    factories = [probes.job(0.5, exc=RuntimeError(f"boom{i}"), name=f"bad{i}") for i in range(3)]
    factories += probes.jobs([1.0, 1.0, 1.0], prefix="ok")
    t0 = kata.now()
    await submission.bounded_gather(factories, 3, return_exceptions=True)
    kata.expect_time(
        t0,
        1.5,
        what=f"{CALL}(3 jobs failing at 0.5 s then 3 jobs of 1.0 s, limit=3, "
        "return_exceptions=True)",
        hint="a failing job must release its slot: use `async with sem:` or release in `finally`",
        too_fast="did more than 3 jobs run at once?",
    )


@kata.check(
    "the first failure cancels the rest and is re-raised at once", group="cancellation", hint=5
)
async def test_failure_cancels_the_rest(submission, probes):
    boom = ValueError("job0 failed")
    factories = [
        probes.job(1.0, exc=boom, name="fails"),
        probes.job(2.0, name="long"),
        probes.job(0.5, name="short"),
        probes.job(0.5, name="next"),
        probes.job(1.0, name="late"),
        probes.job(1.0, name="later"),
    ]
    t0 = kata.now()
    try:
        await submission.bounded_gather(factories, 3)
    except ValueError as exc:
        kata.expect(
            exc is boom,
            f"{CALL} raised {exc!r}, but not the job's own exception object: re-raise the "
            "very exception the job raised (unwrap an ExceptionGroup, don't build a new one)",
        )
    else:
        kata.fail(f"{CALL} returned although a job raised {boom!r}; it must re-raise it")
    kata.expect_time(t0, 1.0, what=f"{CALL} raising the first failure", exact=True)
    raised_at = kata.now()
    await asyncio.sleep(5)  # anything still running would show up now
    for rec in probes.records:
        kata.expect(
            rec.started is not None and rec.started <= raised_at,
            f"job {rec.name!r} started at t={rec.started} s, after the failure at t=1.0 s: "
            "no job may start once a job failed",
        )
        kata.expect(
            rec.ended is None or rec.ended <= raised_at,
            f"job {rec.name!r} was still running after the failure and finished at "
            f"t={rec.ended} s: cancel every other job when one fails",
        )
        kata.expect(
            rec.finally_at is not None and rec.finally_at <= raised_at + 1e-9,
            f"job {rec.name!r} ran its cleanup at t={rec.finally_at} s; every job must be "
            "cancelled (and its cleanup run) by the time the failure is re-raised at t=1.0 s",
        )
    long_job = [r for r in probes.records if r.name == "long"]
    kata.expect(
        bool(long_job) and long_job[0].cancelled is not None,
        "the 2 s job that should have been running beside the failing one was not cancelled "
        "at t=1.0 s (with limit=3 it starts at t=0)",
    )


@kata.check(
    "cancelling the caller cancels running jobs and starts no more", group="cancellation", hint=2
)
async def test_caller_cancel(submission, probes):
    t0 = kata.now()
    call = asyncio.ensure_future(submission.bounded_gather(_jobs(probes, [1.0] * 10), 3))
    await asyncio.sleep(1.5)
    call.cancel()
    try:
        await call
    except asyncio.CancelledError:
        pass
    else:
        kata.fail(
            f"{CALL} returned after its caller was cancelled at t=1.5 s; the cancellation "
            "must propagate (don't swallow CancelledError)"
        )
    cancelled_at = kata.now()
    kata.expect_time(t0, 1.5, what=f"{CALL} finishing its cancellation", exact=True)
    await asyncio.sleep(5)
    running = [
        r.name for r in probes.records if r.finally_at is None or r.finally_at > cancelled_at
    ]
    kata.expect(
        not running,
        f"after the caller was cancelled at t=1.5 s, jobs {running} were still running or "
        "cleaned up late: cancel the running jobs and wait for them",
    )
    late = [r.name for r in probes.records if r.started is not None and r.started > cancelled_at]
    kata.expect(not late, f"jobs {late} started after the caller was cancelled")
    in_flight = [r.name for r in probes.records if r.started == 1.0]
    cancelled = [r.name for r in probes.records if r.cancelled is not None]
    kata.expect(
        len(in_flight) == 3 and sorted(in_flight) == sorted(cancelled),
        f"with limit=3, three jobs started at t=1.0 s should have been in flight at t=1.5 s "
        f"and cancelled then; in flight: {in_flight}, cancelled: {cancelled}",
    )


@kata.check("no slot sits idle while jobs wait (property, 60 scenarios)", group="timing", hint=3)
def test_slots_never_idle_while_jobs_wait(submission):

    scenarios = st.tuples(
        st.lists(st.integers(1, 12).map(lambda q: q / 4), min_size=1, max_size=10),
        st.integers(1, 4),
    )

    async def check(scenario):
        delays, limit = scenario
        runs = kata.Probes()
        got = await submission.bounded_gather(runs.jobs(delays), limit)
        if got != [f"result-job{i}" for i in range(len(delays))]:
            return f"results {got!r} are not in input order"
        instants = sorted({t for t, _, _ in runs.events})
        for t in instants:
            started = sum(1 for u, kind, _ in runs.events if kind == "start" and u <= t)
            finished = sum(1 for u, kind, _ in runs.events if kind == "finally" and u <= t)
            running, waiting = started - finished, len(delays) - started
            want = min(limit, running + waiting)
            if running != want:
                return (
                    f"{running} job(s) ran at t={t - instants[0]:g} s while {waiting} waited; "
                    f"with limit={limit} it should run {want}: "
                    + (
                        "a freed slot must go to a waiting job at once, not after a batch ends"
                        if running < want
                        else "the limit was exceeded"
                    )
                )
        return None

    kata.forall(scenarios, check, what=f"{CALL}(jobs of the given durations, limit)", examples=60)


@kata.check(
    "cancellation sweep: a cancel at any instant leaves nothing behind",
    group="cancellation",
    hint=2,
)
async def test_cancellation_sweep(submission, probes):
    def no_slot_leaked(runs: kata.Probes) -> str | None:
        # After a cancel, the limit must be whole again: a fresh call with the same
        # limit is checked by the next scenario; here, no job may have started late.
        return None

    async def scenario(runs: kata.Probes):
        factories = runs.jobs([1.0, 0.5, 2.0, 0.5, 1.0, 1.5])
        factories.insert(2, runs.job(0.75, exc=ValueError("boom"), name="bad"))
        return await submission.bounded_gather(factories, 3, return_exceptions=True)

    await kata.sweep(
        scenario, what="bounded_gather(7 jobs, limit=3)", invariant=no_slot_leaked, record=probes
    )
