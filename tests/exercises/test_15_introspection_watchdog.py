"""Hidden suite for exercise 15: describe_tasks, LeakGuard and LagMonitor.

describe_tasks and LeakGuard run on the virtual clock. LagMonitor measures real
lateness caused by a real blocking call, so its checks are @realtime and block
the loop on purpose (@allow_blocking): there the monitor's own numbers judge.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from grader import kata


async def _idle() -> None:
    await asyncio.sleep(60)


class _Service:
    async def serve(self) -> None:
        await asyncio.sleep(60)


async def _stop(*tasks: asyncio.Task[Any]) -> None:
    """Cancel and await whatever the check itself left running."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(BaseException):
            await task


async def _enter_and_exit(guard: Any, body: Any) -> BaseException | None:
    """Run ``async with guard: await body()``; return what it raised (None if nothing)."""
    try:
        async with guard:
            await body()
    except BaseException as exc:  # the check inspects it
        return exc
    return None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "nothing"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _expect_not_self_cancelled(raised: BaseException | None, what: str) -> None:
    if isinstance(raised, asyncio.CancelledError):
        kata.fail(
            f"{what} raised CancelledError at t={kata.now():g} s: the guard cancelled the task "
            "running the block itself. That task existed before the block, so it is never a "
            "leak (and it cannot finish while the guard waits for it)"
        )


def _others() -> list[asyncio.Task[Any]]:
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me]


# -- describe_tasks --------------------------------------------------------------


@kata.check(
    "describe_tasks lists the other pending tasks, sorted, without the caller",
    group="behaviour",
    hint=1,
)
async def test_describe_tasks_excludes_caller(submission):
    tasks = [
        asyncio.create_task(_Service().serve(), name="svc"),
        asyncio.create_task(_idle(), name="idle"),
        asyncio.create_task(_idle(), name="beta"),
    ]
    finished = asyncio.create_task(asyncio.sleep(0), name="finished")
    try:
        await asyncio.sleep(1)
        expected = [("beta", "_idle"), ("idle", "_idle"), ("svc", "_Service.serve")]
        got = submission.describe_tasks()
        kata.expect_equal(
            got,
            expected,
            what="describe_tasks() with three other tasks pending (and one finished)",
            hint="one (task.get_name(), task.get_coro().__qualname__) tuple per task of "
            "asyncio.all_tasks() except asyncio.current_task(), in a sorted list",
        )

        async def inspector() -> Any:
            return submission.describe_tasks()

        seen = await asyncio.create_task(inspector(), name="inspector")
        kata.expect(
            isinstance(seen, list) and not any(n == "inspector" for n, *_ in seen),
            f"describe_tasks() called from a task named 'inspector' returned {seen!r}; the "
            "calling task must not be listed: leave out asyncio.current_task()",
        )
        me = asyncio.current_task()
        assert me is not None
        kata.expect(
            all(item in seen for item in expected)
            and any(name == me.get_name() for name, *_ in seen)
            and len(seen) == len(expected) + 1
            and seen == sorted(seen),
            f"describe_tasks() called from a task named 'inspector' returned {seen!r}; it "
            f"should list the three other tasks and the task that awaits the inspector "
            f"({me.get_name()!r}), sorted",
        )
    finally:
        await _stop(*tasks, finished)


# -- LeakGuard -------------------------------------------------------------------


@kata.check("LeakGuard ignores tasks that existed before the block", group="behaviour", hint=2)
async def test_tasks_from_before_are_ignored(submission, probes):
    old = asyncio.create_task(probes.job(2.0, name="old")(), name="old")
    await asyncio.sleep(0)
    guard = submission.LeakGuard(grace=0.5)
    t0 = kata.now()
    raised = await _enter_and_exit(guard, lambda: asyncio.sleep(0.25))
    took = kata.now() - t0
    rec = probes.get("old")
    _expect_not_self_cancelled(raised, "`async with LeakGuard(grace=0.5):` around a 0.25 s block")
    kata.expect(
        raised is None and not old.done() and rec.cancelled is None,
        "a task started before `async with LeakGuard(grace=0.5):` was still running when a "
        f"0.25 s block ended; the guard raised {_describe(raised)} and "
        + ("cancelled it" if rec.cancelled is not None else "left it alone")
        + ": only tasks created during the block are the guard's business. Take a snapshot of "
        "asyncio.all_tasks() when the block starts and ignore those",
    )
    kata.expect(
        abs(took - 0.25) <= 0.01,
        f"`async with LeakGuard(grace=0.5):` around a 0.25 s block took {kata.seconds(took)} "
        "of loop time; with no new task to wait for it should end with the block, at 0.25 s: "
        "did it wait for a task that existed before the block?",
    )
    kata.expect_equal(guard.leaked, [], what="LeakGuard.leaked after a clean block")
    await old


@kata.check("LeakGuard catches grandchildren too", group="behaviour", hint=2)
async def test_grandchildren_are_caught(submission, probes):
    keep: list[asyncio.Task[Any]] = []

    async def parent() -> None:
        keep.append(asyncio.create_task(probes.job(5.0, name="grandchild")(), name="grandchild"))
        await asyncio.sleep(0.1)

    async def worker() -> None:
        keep.append(asyncio.create_task(probes.job(5.0, name="helper")(), name="helper"))
        await asyncio.sleep(5.0)

    async def body() -> None:
        keep.append(asyncio.create_task(parent(), name="parent"))
        keep.append(asyncio.create_task(worker(), name="worker"))
        await keep[0]

    guard = submission.LeakGuard(grace=0.5)
    try:
        raised = await _enter_and_exit(guard, body)
        what = (
            "a block that started 'parent' (which started 'grandchild' and ended at 0.1 s) and "
            "'worker' (which started 'helper'), all but 'parent' running for 5 s, under "
            "LeakGuard(grace=0.5)"
        )
        _expect_not_self_cancelled(raised, what)
        kata.expect(
            isinstance(raised, submission.LeakedTasksError),
            f"{what} raised {_describe(raised)}; expected LeakedTasksError",
        )
        names = getattr(raised, "names", None)
        want = ["grandchild", "helper", "worker"]
        kata.expect(
            isinstance(names, list) and sorted(names) == want,
            f"{what} reported names={names!r}; expected {want} (in any order): tasks started "
            "by the block's tasks count too. Compare asyncio.all_tasks() at the end with the "
            "snapshot taken at the start",
        )
        kata.expect(
            isinstance(guard.leaked, list) and sorted(guard.leaked) == want,
            f"{what} left guard.leaked == {guard.leaked!r}; expected {want} (in any order)",
        )
        late = [r.name for r in probes.records if r.finally_at is None]
        kata.expect(
            not late,
            f"{what}: {late} had not been cancelled (their finally had not run) when the "
            "error was raised; cancel every straggler, grandchildren included, and await them",
        )
    finally:
        await _stop(*keep)


@kata.check(
    "a child that ends within the grace period is waited for, and no longer",
    group="timing",
    hint=3,
)
async def test_child_within_grace_is_no_leak(submission, probes):
    keep: list[asyncio.Task[Any]] = []

    async def body() -> None:
        keep.append(asyncio.create_task(probes.job(0.5, name="quick")(), name="quick"))

    guard = submission.LeakGuard(grace=1.0)
    t0 = kata.now()
    try:
        raised = await _enter_and_exit(guard, body)
        what = "a block that starts a 0.5 s task 'quick' under LeakGuard(grace=1.0)"
        _expect_not_self_cancelled(raised, what)
        kata.expect(
            raised is None,
            f"{what} raised {_describe(raised)} at t={kata.now():g} s; 'quick' ends at 0.5 s, "
            "within the grace period, so nothing leaked",
        )
        kata.expect_time(
            t0,
            0.5,
            what=what,
            hint="the guard should return the moment 'quick' ends, not sleep the whole grace "
            "period: await asyncio.wait(stragglers, timeout=grace)",
        )
        rec = probes.get("quick")
        kata.expect(
            rec.ended is not None and rec.cancelled is None,
            f"{what}: 'quick' was cancelled at t={rec.cancelled} s; it ended within the grace "
            "period and must be left to finish",
        )
        kata.expect_equal(guard.leaked, [], what="LeakGuard.leaked after a clean exit")
    finally:
        await _stop(*keep)


@kata.check(
    "a 5 s child makes LeakGuard(grace=1.0) raise LeakedTasksError(['slow']) at T=1.0",
    group="timing",
    hint=4,
)
async def test_straggler_raises_after_grace(submission, probes):
    keep: list[asyncio.Task[Any]] = []

    async def body() -> None:
        keep.append(asyncio.create_task(probes.job(5.0, name="slow")(), name="slow"))

    guard = submission.LeakGuard(grace=1.0)
    t0 = kata.now()
    try:
        raised = await _enter_and_exit(guard, body)
        what = "a block that starts a 5 s task 'slow' under LeakGuard(grace=1.0)"
        _expect_not_self_cancelled(raised, what)
        kata.expect(
            isinstance(raised, submission.LeakedTasksError),
            f"{what} raised {_describe(raised)} at t={kata.now():g} s; expected "
            "LeakedTasksError once the grace period is over",
        )
        kata.expect_time(
            t0,
            1.0,
            what=what,
            hint="wait for the stragglers at most `grace` seconds, then cancel them and raise",
        )
        kata.expect_equal(
            getattr(raised, "names", None), ["slow"], what=f"{what}: LeakedTasksError.names"
        )
        kata.expect_equal(guard.leaked, ["slow"], what=f"{what}: guard.leaked")
    finally:
        await _stop(*keep)


# -- LeakGuard: cancellation and errors --------------------------------------------


@kata.check(
    "stragglers are cancelled and awaited before LeakedTasksError is raised",
    group="cancellation",
    hint=4,
)
async def test_straggler_cancelled_and_awaited(submission, probes):
    keep: list[asyncio.Task[Any]] = []

    async def body() -> None:
        keep.append(asyncio.create_task(probes.job(5.0, name="slow")(), name="slow"))

    guard = submission.LeakGuard(grace=1.0)
    try:
        raised = await _enter_and_exit(guard, body)
        what = "a block that starts a 5 s task 'slow' under LeakGuard(grace=1.0)"
        rec = probes.get("slow")
        slow = keep[0]
        _expect_not_self_cancelled(raised, what)
        kata.expect(
            isinstance(raised, submission.LeakedTasksError),
            f"{what} raised {_describe(raised)}; expected LeakedTasksError",
        )
        if rec.finally_at is None and slow.cancelling():
            kata.fail(
                f"{what}: when LeakedTasksError reached the caller, 'slow' had been asked to "
                "cancel but had not run its cleanup (finally) yet: task.cancel() only requests "
                "a cancel; await the cancelled tasks (e.g. await asyncio.wait(stragglers)) "
                "before raising"
            )
        kata.expect(
            rec.cancelled is not None and rec.ended is None,
            f"{what}: 'slow' was not cancelled by the guard (it "
            + ("ran to its end" if rec.ended is not None else "was still running")
            + "): cancel every straggler once the grace period is over",
        )
        kata.expect(
            rec.finally_at is not None and slow.done(),
            f"{what}: when LeakedTasksError reached the caller, 'slow' had not finished its "
            "cleanup (finally) yet: await the cancelled tasks before raising",
        )
    finally:
        await _stop(*keep)


@kata.check(
    "an error from the body surfaces unchanged, even with stragglers", group="cancellation", hint=5
)
async def test_body_error_takes_precedence(submission, probes):
    keep: list[asyncio.Task[Any]] = []
    boom = ValueError("the body failed")

    async def body() -> None:
        keep.append(asyncio.create_task(probes.job(5.0, name="straggler")(), name="straggler"))
        await asyncio.sleep(0.1)
        raise boom

    guard = submission.LeakGuard()
    try:
        raised = await _enter_and_exit(guard, body)
        what = "a block that starts a 5 s task and then raises ValueError under LeakGuard()"
        _expect_not_self_cancelled(raised, what)
        kata.expect(
            not isinstance(raised, submission.LeakedTasksError),
            f"{what} raised LeakedTasksError, which hides the body's ValueError: an "
            "exception from the block takes precedence; let it propagate (return None from "
            "__aexit__), raise LeakedTasksError only when the block itself succeeded",
        )
        kata.expect(
            raised is boom,
            f"{what} raised {_describe(raised)}; expected the body's own ValueError object, "
            "unchanged",
        )
    finally:
        await _stop(*keep)


# -- LagMonitor (real clock) -----------------------------------------------------

# The grader runs a sampler of its own beside the learner's (same loop, same
# interval). On a busy machine the OS may deschedule the whole process for a
# while: both samplers then wake late, and the control shows by how much. A
# wake-up of the learner's sampler can be at most one interval later than the
# control's worst one, so the windows below widen by what the control saw.
INTERVAL = 0.02
THRESHOLD = 0.1
WELL_UNDER = 0.05  # "well under the threshold", on an idle machine
NOISE = 0.06  # a control lag over this (outside the block) may cost one extra stall


class _Control:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(INTERVAL)
            self.lags.append(max(0.0, loop.time() - t0 - INTERVAL))

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="grader-control-sampler")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait([self.task])
            self.task = None


async def _expect_no_sampler(what: str) -> None:
    # Let a cancelled sampler finish unwinding (as the leak gate would), then look.
    for _ in range(5):
        await asyncio.sleep(0)
    left = [t.get_name() for t in _others()]
    kata.expect(
        not left,
        f"after {what} ended, task(s) {left} were still running: stop the sampler task when "
        "the block ends (cancel it and await it in __aexit__)",
    )


@kata.realtime
@kata.allow_blocking
@kata.check(
    "LagMonitor: a 0.2 s blocking call shows as one stall with a lag of at least 0.18 s",
    group="timing",
    hint=6,
)
async def test_lag_monitor_sees_a_stall(submission):
    mon = submission.LagMonitor(interval=INTERVAL, threshold=THRESHOLD)
    what = (
        "async with LagMonitor(interval=0.02, threshold=0.1) around a body that awaits "
        "0.05 s, blocks with time.sleep(0.2), then awaits 0.1 s"
    )
    control = _Control()
    control.start()
    try:
        async with mon:
            await asyncio.sleep(0.05)
            time.sleep(0.2)  # blocks the loop on purpose
            await asyncio.sleep(0.1)
    finally:
        await control.stop()
    await _expect_no_sampler("async with LagMonitor(...)")
    max_lag, stalls = mon.max_lag, mon.stalls
    kata.expect(
        isinstance(max_lag, float) and max_lag >= 0.18,
        f"{what} gave max_lag={max_lag!r}; the sampler's sleep of 0.02 s started before the "
        "block and woke at least 0.18 s late. Lag is how late a wake-up is: "
        "(time after the sleep) - (time before it) - interval, with loop.time()",
    )
    noise = [lag for lag in control.lags if NOISE < lag < 0.15]
    most = 1 + len(noise)
    kata.expect(
        type(stalls) is int and 1 <= stalls <= most,
        f"{what} gave stalls={stalls!r}; expected "
        + ("1" if most == 1 else f"1 (up to {most} on this busy machine)")
        + ": one late wake-up (a lag over the threshold) is one stall, whatever its length; "
        "the wake-ups after it are on time",
    )


@kata.realtime
@kata.allow_blocking
@kata.check(
    "LagMonitor: a body that never blocks shows a lag well under the threshold",
    group="behaviour",
    hint=6,
)
async def test_lag_monitor_clean_body(submission):
    mon = submission.LagMonitor(interval=INTERVAL, threshold=THRESHOLD)
    what = "async with LagMonitor(interval=0.02, threshold=0.1) around `await asyncio.sleep(0.3)`"
    control = _Control()
    control.start()
    try:
        async with mon:
            await asyncio.sleep(0.3)
    finally:
        await control.stop()
    await _expect_no_sampler("async with LagMonitor(...)")
    max_lag, stalls = mon.max_lag, mon.stalls
    load = max(control.lags, default=0.0)
    bound = WELL_UNDER + load
    busy = f" (0.05 s plus the {load:.3f} s this busy machine delayed the grader's own sampler)"
    kata.expect(
        isinstance(max_lag, float) and 0.0 <= max_lag < bound,
        f"{what} gave max_lag={max_lag!r}; nothing blocked, so every wake-up was nearly on "
        f"time: expected a float well under the 0.1 s threshold, under {bound:.3f} s"
        + (busy if load > 0.005 else "")
        + ". Lag is only the lateness: (time after the sleep) - (time before it) - interval",
    )
    most = len([lag for lag in control.lags if lag > NOISE])
    kata.expect(
        type(stalls) is int and 0 <= stalls <= most,
        f"{what} gave stalls={stalls!r}; expected "
        + ("0" if most == 0 else f"at most {most} on this busy machine")
        + ": no wake-up was later than the threshold",
    )
