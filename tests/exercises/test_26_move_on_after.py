"""Hidden suite for exercise 26: move_on_after, a cancel scope built on ``Task.uncancel``.

Every check runs on the virtual clock, so the instant a scope fires is exact.
Blocks are bodies of probes (``probes.span``): each records when it started, when
it saw a cancellation and when its ``finally`` ran. External cancels are loop
timers (``loop.call_at``) so that they can land at the very instant of a deadline,
in either order relative to the scope's own timer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from grader import kata

EXACT = 1e-5  # CURRICULUM.md "exact"


def _at(t: float) -> str:
    return kata.seconds(t)


def _caught(scope: Any, expected: bool, what: str, hint: str) -> None:
    got = getattr(scope, "cancelled_caught", "<missing>")
    kata.expect(
        got is expected,
        f"{what}: cancelled_caught is {got!r}; expected {expected!r}"
        + (f": {hint}" if hint else ""),
    )


async def _outcome(task: asyncio.Task[Any]) -> str:
    """'cancelled', 'returned' or 'raised <Type>: <msg>' for a finished task."""
    try:
        await task
    except asyncio.CancelledError:
        if task.cancelled():
            return "cancelled"
        raise  # the check itself was cancelled: not the learner's doing
    except BaseException as exc:
        return f"raised {type(exc).__name__}: {exc}"
    return "returned"


async def _no_stray_cancel(seconds: float, after: str) -> None:
    """Sleep ``seconds``; a CancelledError here is a stray cancel from a scope already left."""
    start = kata.now()
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            while task.uncancel():
                pass
        kata.fail(
            f"{after}, a later `await asyncio.sleep({seconds:g})` was cancelled at "
            f"t={_at(kata.now())} (it started at t={_at(start)}): a scope's timer fired after "
            "its block was left. Cancel the timer handle in __aexit__, on every way out"
        )


def _cancelling() -> int:
    task = asyncio.current_task()
    assert task is not None
    return task.cancelling()


# -- behaviour -------------------------------------------------------------------


@kata.check(
    "a 1.0 s scope around a 5 s sleep moves on at 1.0 s with cancelled_caught",
    group="behaviour",
    hint=1,
)
async def test_basic_scope(submission, probes):
    t0 = kata.now()
    inside_after_sleep = False
    cm = submission.move_on_after(1.0)
    async with cm as scope:
        async with probes.span("block"):
            await asyncio.sleep(5)
        inside_after_sleep = True
    kata.expect(
        scope is cm,
        f"`async with move_on_after(1.0) as scope` bound scope to {scope!r}; __aenter__ must "
        "return the scope itself (return self)",
    )
    kata.expect(
        not inside_after_sleep,
        "the code after `await asyncio.sleep(5)` inside the block ran: the scope must cancel the "
        "block, not just stop waiting",
    )
    kata.expect_time(
        t0,
        1.0,
        what="`async with move_on_after(1.0): await asyncio.sleep(5)`",
        hint="the block must be cut short 1.0 s after entry",
        exact=True,
    )
    kata.expect_at(
        probes.get("block").cancelled,
        1.0,
        what="the block seeing CancelledError",
        hint="cancel the current task when the deadline passes (loop.call_later / call_at)",
        exact=True,
    )
    _caught(
        scope, True, "after the scope cut the block short", "set it when you absorb your cancel"
    )
    kata.expect(
        _cancelling() == 0,
        f"after the scope absorbed its own cancellation, current_task().cancelling() is "
        f"{_cancelling()}; expected 0: call Task.uncancel() for the cancel you requested",
    )


@kata.check(
    "a block that finishes early is left alone, and no stray cancel arrives later",
    group="behaviour",
    hint=3,
)
async def test_early_finish_no_stray_cancel(submission, probes):
    t0 = kata.now()
    async with submission.move_on_after(1.0) as scope, probes.span("block"):
        await asyncio.sleep(0.5)
    kata.expect_time(t0, 0.5, what="a 1.0 s scope around a 0.5 s sleep", exact=True)
    kata.expect(
        probes.get("block").cancelled is None,
        "the block finished at 0.5 s, before the 1.0 s deadline, yet it saw a cancellation",
    )
    _caught(scope, False, "after a block that finished before its deadline", "")
    await _no_stray_cancel(2.0, "after a 1.0 s scope was left early at t=0.5 s")
    kata.expect_time(t0, 2.5, what="the 0.5 s block plus a later 2 s sleep", exact=True)
    kata.expect(
        _cancelling() == 0,
        f"current_task().cancelling() is {_cancelling()} after a scope that never fired; "
        "expected 0",
    )


@kata.check(
    "outer 1.0 s around inner 3.0 s: the outer catches and the code between never runs",
    group="behaviour",
    hint=4,
)
async def test_outer_scope_catches_not_inner(submission, probes):
    t0 = kata.now()
    between = False
    async with submission.move_on_after(1.0) as outer:
        async with submission.move_on_after(3.0) as inner, probes.span("block"):
            await asyncio.sleep(10)
        between = True
    kata.expect_time(
        t0,
        1.0,
        what="an outer move_on_after(1.0) around an inner move_on_after(3.0)",
        hint="the outer deadline comes first",
        exact=True,
    )
    kata.expect(
        not between,
        "the code between the inner and the outer block ran: the inner scope (3.0 s) absorbed "
        "the cancellation of the outer scope (1.0 s). A scope may absorb only the cancellation it "
        "requested itself: if its own timer did not fire, let CancelledError propagate",
    )
    _caught(inner, False, "the inner 3.0 s scope, whose deadline never came", "it did not fire")
    _caught(outer, True, "the outer 1.0 s scope, which fired", "")
    await _no_stray_cancel(3.0, "after both scopes were left at t=1.0 s")
    kata.expect(
        _cancelling() == 0, f"cancelling() is {_cancelling()} after both scopes; expected 0"
    )


@kata.check(
    "inner 1.0 s inside outer 3.0 s: the inner catches and the block goes on",
    group="behaviour",
    hint=4,
)
async def test_inner_scope_catches_block_goes_on(submission, probes):
    t0 = kata.now()
    went_on_at = None
    async with submission.move_on_after(3.0) as outer:
        async with submission.move_on_after(1.0) as inner, probes.span("block"):
            await asyncio.sleep(10)
        async with probes.span("after-inner"):
            await asyncio.sleep(1.0)
        went_on_at = kata.now()
    kata.expect_at(
        went_on_at,
        2.0,
        what="the outer block going on after the inner scope",
        hint="the inner scope fires at 1.0 s and absorbs its own cancel; the outer block then "
        "sleeps 1.0 s more",
        exact=True,
    )
    kata.expect_time(
        t0, 2.0, what="inner move_on_after(1.0) inside outer move_on_after(3.0)", exact=True
    )
    _caught(inner, True, "the inner 1.0 s scope, which fired", "")
    _caught(
        outer,
        False,
        "the outer 3.0 s scope, left at 2.0 s",
        "the outer scope must not claim a cancellation the inner scope requested",
    )
    await _no_stray_cancel(2.0, "after the outer 3.0 s scope was left at t=2.0 s")
    kata.expect(
        _cancelling() == 0, f"cancelling() is {_cancelling()} after both scopes; expected 0"
    )


# -- timing ----------------------------------------------------------------------


@kata.check(
    "the deadline counts from entry: `deadline` and the firing instant", group="timing", hint=1
)
async def test_deadline_counts_from_entry(submission, probes):
    for made_at, delay in ((0.0, 0.25), (0.5, 1.0), (1.25, 2.75)):
        base = kata.now()
        scope = submission.move_on_after(delay)
        await asyncio.sleep(made_at)
        entered = kata.now()
        async with scope:
            got = scope.deadline
            await asyncio.sleep(10)
        kata.expect(
            isinstance(got, float) and abs(got - (entered + delay)) <= EXACT,
            f"inside `async with move_on_after({delay:g})` entered at t={_at(entered)}, "
            f"deadline is {got!r}; expected the loop time {entered + delay:g} "
            "(loop.time() on entry + delay)",
        )
        kata.expect_time(
            entered,
            delay,
            what=f"move_on_after({delay:g}) made at t={_at(base)} and entered at t={_at(entered)}",
            hint="the delay counts from entering the block, on the loop's clock (loop.time())",
            exact=True,
        )
        _caught(scope, True, f"move_on_after({delay:g}) that fired", "")


@kata.check(
    "reschedule(2.0) at 0.5 s fires at 2.5 s; None means no deadline",
    group="timing",
    hint=5,
)
async def test_reschedule(submission, probes):
    t0 = kata.now()
    async with submission.move_on_after(1.0) as scope:
        await asyncio.sleep(0.5)
        scope.reschedule(2.0)
        moved = scope.deadline
        await asyncio.sleep(10)
    kata.expect(
        isinstance(moved, float) and abs(moved - (t0 + 2.5)) <= EXACT,
        f"after reschedule(2.0) at t=0.5 s, deadline is {moved!r}; expected {t0 + 2.5:g} "
        "(2.0 s from now)",
    )
    kata.expect_time(
        t0,
        2.5,
        what="move_on_after(1.0) rescheduled with reschedule(2.0) at t=0.5 s",
        hint="reschedule's delay counts from now; cancel the old timer and arm a new one",
        exact=True,
    )
    _caught(scope, True, "the rescheduled scope", "")

    t1 = kata.now()
    async with submission.move_on_after(5.0) as scope:
        await asyncio.sleep(0.5)
        scope.reschedule(0.25)
        await asyncio.sleep(10)
    kata.expect_time(
        t1,
        0.75,
        what="move_on_after(5.0) rescheduled with reschedule(0.25) at t=0.5 s",
        hint="an earlier deadline must replace the old one",
        exact=True,
    )
    await _no_stray_cancel(5.0, "after a scope rescheduled from 5.0 s to 0.25 s was left")

    t2 = kata.now()
    async with submission.move_on_after(None) as scope:
        kata.expect(
            scope.deadline is None,
            f"move_on_after(None).deadline is {scope.deadline!r}; expected None (no deadline)",
        )
        await asyncio.sleep(3)
    kata.expect_time(
        t2,
        3.0,
        what="move_on_after(None) around a 3 s sleep",
        hint="None means no deadline",
        exact=True,
    )
    _caught(scope, False, "move_on_after(None)", "it has no deadline")

    t3 = kata.now()
    async with submission.move_on_after(None) as scope:
        await asyncio.sleep(0.5)
        scope.reschedule(1.0)
        await asyncio.sleep(10)
    kata.expect_time(
        t3,
        1.5,
        what="move_on_after(None) given a deadline with reschedule(1.0) at t=0.5 s",
        exact=True,
    )
    _caught(scope, True, "move_on_after(None) after reschedule(1.0)", "")

    t4 = kata.now()
    async with submission.move_on_after(1.0) as scope:
        await asyncio.sleep(0.5)
        scope.reschedule(None)
        await asyncio.sleep(3)
    kata.expect_time(
        t4,
        3.5,
        what="move_on_after(1.0) whose deadline was removed with reschedule(None) at t=0.5 s",
        hint="reschedule(None) must cancel the pending timer",
        exact=True,
    )
    _caught(scope, False, "a scope whose deadline was removed", "")
    kata.expect(_cancelling() == 0, f"cancelling() is {_cancelling()} after the scopes; expected 0")


@kata.check(
    "delay=0 cancels at the block's first suspension, even `await asyncio.sleep(0)`",
    group="timing",
    hint=6,
)
async def test_zero_delay(submission, probes):
    t0 = kata.now()
    reached = False
    async with submission.move_on_after(0) as scope:
        await asyncio.sleep(0)
        reached = True
        await asyncio.sleep(1)
    kata.expect(
        not reached,
        "`async with move_on_after(0): await asyncio.sleep(0)` went past the sleep(0): a deadline "
        "that is already due must cancel at the block's first suspension. A timer at 'now' "
        "(call_later(0)) runs only after the task's next step; schedule the cancel with "
        "loop.call_soon, as asyncio.timeout does",
    )
    kata.expect_time(t0, 0.0, what="move_on_after(0) around sleep(0), sleep(1)", exact=True)
    _caught(scope, True, "move_on_after(0) whose block suspended", "")

    t1 = kata.now()
    async with submission.move_on_after(0) as scope:
        total = sum(range(10))  # never suspends
    kata.expect(total == 45, "unreachable")
    _caught(
        scope, False, "move_on_after(0) around a block that never suspends", "nothing was cancelled"
    )
    await _no_stray_cancel(1.0, "after move_on_after(0) around a block that never suspended")
    kata.expect_time(t1, 1.0, what="a later 1 s sleep", exact=True)
    kata.expect(_cancelling() == 0, f"cancelling() is {_cancelling()} after the scopes; expected 0")


# -- cancellation ----------------------------------------------------------------


async def _scoped_sleeper(
    submission: Any, probes: kata.Probes, name: str, marks: dict[str, float]
) -> None:
    async with submission.move_on_after(1.0), probes.span(name):
        await asyncio.sleep(5)
    marks[name] = kata.now()  # must never run: the cancel was not the scope's
    await asyncio.sleep(1)


@kata.check(
    "a cancel from outside, at 0.5 s or at the deadline instant itself, propagates",
    group="cancellation",
    hint=2,
)
async def test_external_cancel_propagates(submission, probes):
    loop = asyncio.get_running_loop()
    marks: dict[str, float] = {}
    cases = (
        ("half", "at 0.5 s", 0.5),
        (
            "first",
            "at 1.0 s, the deadline instant (the outside timer armed before the scope's)",
            1.0,
        ),
        (
            "after",
            "at 1.0 s, the deadline instant (the outside timer armed after the scope's)",
            1.0,
        ),
    )
    for name, label, cancel_at in cases:
        t_start = kata.now()
        holder: list[asyncio.Task[Any]] = []
        if name == "first":
            loop.call_at(t_start + cancel_at, lambda held=holder: held[0].cancel())
        task = asyncio.create_task(_scoped_sleeper(submission, probes, name, marks))
        holder.append(task)
        if name == "after":
            await asyncio.sleep(0.25)  # the scope is entered (and its timer armed) by now
            loop.call_at(t_start + cancel_at, task.cancel)
        elif name == "half":
            await asyncio.sleep(cancel_at)
            task.cancel()
        outcome = await _outcome(task)
        kata.expect(
            outcome == "cancelled" and name not in marks,
            f"a task inside `async with move_on_after(1.0)` was cancelled from outside {label}; "
            f"it {outcome}"
            + (f", and went on after the block at t={_at(marks[name])}" if name in marks else "")
            + ". That cancel was not the scope's: it must propagate. Count the requests: absorb "
            "only when uncancel() brings cancelling() back to its level on entry",
        )
        kata.expect_time(
            t_start,
            cancel_at,
            what=f"the task cancelled from outside {label}",
            exact=True,
        )
        kata.expect(
            probes.get(name).cancelled is not None,
            f"the block of the task cancelled from outside {label} never saw the cancellation",
        )


@kata.check(
    "cancelling() is restored, and a later asyncio.timeout around a TaskGroup still works",
    group="cancellation",
    hint=2,
)
async def test_cancelling_restored(submission, probes):
    async with submission.move_on_after(1.0) as scope:
        await asyncio.sleep(5)
    _caught(scope, True, "a 1.0 s scope around a 5 s sleep", "")
    level = _cancelling()
    kata.expect(
        level == 0,
        f"after the scope absorbed its own cancellation, current_task().cancelling() is {level}; "
        "expected 0. Every task.cancel() you request must be matched by task.uncancel() when "
        "you absorb it, or a later asyncio.timeout or TaskGroup in this task misbehaves",
    )
    t0 = kata.now()
    try:
        async with asyncio.timeout(1.0):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(probes.job(5.0, name="child-a")())
                tg.create_task(probes.job(5.0, name="child-b")())
    except TimeoutError:
        pass
    except asyncio.CancelledError:
        kata.fail(
            "after the scope, `async with asyncio.timeout(1.0)` around a TaskGroup raised "
            "CancelledError instead of TimeoutError: the scope left the task's cancel count "
            "too high (missing Task.uncancel())"
        )
    else:
        kata.fail(
            "after the scope, asyncio.timeout(1.0) around a 5 s TaskGroup did not raise TimeoutError"
        )
    kata.expect_time(
        t0, 1.0, what="asyncio.timeout(1.0) around a TaskGroup after the scope", exact=True
    )
    t1 = kata.now()
    boom = ValueError("child failed")
    try:
        async with asyncio.timeout(5.0):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(probes.job(0.5, exc=boom, name="failing")())
                tg.create_task(probes.job(3.0, name="sibling")())
    except* ValueError as group:
        kata.expect(
            group.exceptions == (boom,),
            f"the TaskGroup's ExceptionGroup held {group.exceptions!r}; expected only {boom!r}",
        )
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        while task is not None and task.uncancel():
            pass
        kata.fail(
            "after the scope, a TaskGroup whose child failed (inside asyncio.timeout) left a "
            "stray CancelledError in the task: the TaskGroup saw cancelling() > 0 left over by "
            "the scope and re-cancelled the task. Call Task.uncancel() when you absorb your cancel"
        )
    kata.expect_time(t1, 1.5, what="the failing TaskGroup (0.5 s) plus a 1 s sleep", exact=True)
    kata.expect(_cancelling() == 0, f"cancelling() is {_cancelling()} at the end; expected 0")


@kata.check(
    "a scope in the cleanup of a cancelled task catches its own deadline",
    group="cancellation",
    hint=2,
)
async def test_scope_in_cleanup_of_cancelled_task(submission, probes):
    seen: dict[str, Any] = {}

    async def worker() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen["level_before"] = _cancelling()
            # bounded cleanup
            async with submission.move_on_after(1.0) as scope, probes.span("cleanup"):
                await asyncio.sleep(5)
            seen["caught"] = scope.cancelled_caught
            seen["went_on_at"] = kata.now()
            seen["level_after"] = _cancelling()
            raise

    t0 = kata.now()
    task = asyncio.create_task(worker())
    await asyncio.sleep(0.5)
    task.cancel()
    outcome = await _outcome(task)
    kata.expect(
        "went_on_at" in seen,
        "a task cancelled at 0.5 s ran `async with move_on_after(1.0)` around its cleanup "
        "(its cancelling() was already 1); at 1.5 s the scope's own deadline came, but the "
        "scope let that CancelledError escape instead of absorbing it. Absorb your own cancel "
        "when uncancel() brings cancelling() back to the level it had on entry, not to 0 "
        "(asyncio.timeout does the same)",
    )
    kata.expect_at(seen["went_on_at"], 1.5, what="the cleanup going on after its scope", exact=True)
    kata.expect(
        seen.get("caught") is True, f"cancelled_caught was {seen.get('caught')!r}; expected True"
    )
    kata.expect(
        seen.get("level_after") == 1,
        f"after the cleanup scope, cancelling() was {seen.get('level_after')!r}; expected 1, "
        "the level on entry (the task is still being cancelled from outside)",
    )
    kata.expect(outcome == "cancelled", f"the task should end cancelled; it {outcome}")
    kata.expect_time(t0, 1.5, what="the cancelled task with its 1.0 s cleanup scope", exact=True)


@kata.check(
    "a TaskGroup inside the scope: its children are cancelled, no group escapes",
    group="cancellation",
    hint=4,
)
async def test_taskgroup_inside_scope(submission, probes):
    for variant in ("waiting in the TaskGroup's exit", "sleeping in the TaskGroup's body"):
        t0 = kata.now()
        runs = kata.Probes()
        try:
            async with submission.move_on_after(1.0) as scope, asyncio.TaskGroup() as tg:
                tg.create_task(runs.job(5.0, name="a")())
                tg.create_task(runs.job(5.0, name="b")())
                if variant.startswith("sleeping"):
                    await asyncio.sleep(10)
        except BaseException as exc:
            kata.fail(
                f"a 1.0 s scope around a TaskGroup ({variant}) let {type(exc).__name__}: {exc!r} "
                "escape; the scope's cancel must be absorbed once the TaskGroup re-raises it"
            )
        kata.expect_time(
            t0,
            1.0,
            what=f"a 1.0 s scope around a TaskGroup of 5 s children ({variant})",
            exact=True,
        )
        for rec in runs.records:
            kata.expect(
                rec.cancelled is not None
                and rec.finally_at is not None
                and rec.finally_at <= t0 + 1.0 + EXACT,
                f"TaskGroup child {rec.name!r} ({variant}) was not cancelled and cleaned up by "
                f"t={_at(t0 + 1.0)} (cancelled at {rec.cancelled}, finally at {rec.finally_at})",
            )
        _caught(scope, True, f"the scope around the TaskGroup ({variant})", "")
        kata.expect(
            _cancelling() == 0,
            f"cancelling() is {_cancelling()} after the scope ({variant}); expected 0",
        )


@kata.check(
    "simultaneous deadlines: the outer scope or asyncio.timeout wins",
    group="cancellation",
    hint=2,
)
async def test_simultaneous_deadlines(submission, probes):
    # Two move_on_after scopes with the same deadline: the outer one catches.
    t0 = kata.now()
    between = False
    async with submission.move_on_after(1.0) as outer:
        async with submission.move_on_after(1.0) as inner:
            await asyncio.sleep(5)
        between = True
    kata.expect(
        not between and outer.cancelled_caught is True and inner.cancelled_caught is False,
        "with an outer and an inner move_on_after(1.0) both firing at t=1.0 s, "
        f"the code between the exits {'ran' if between else 'did not run'}, the outer scope's "
        f"cancelled_caught is {outer.cancelled_caught!r} and the inner's {inner.cancelled_caught!r}; "
        "expected the outer to catch (True) and the inner to let it through (False): two cancels "
        "were requested, the inner scope may absorb only one of them",
    )
    kata.expect_time(t0, 1.0, what="two nested move_on_after(1.0)", exact=True)
    kata.expect(_cancelling() == 0, f"cancelling() is {_cancelling()} after the scopes; expected 0")

    # An outer asyncio.timeout with the same deadline, its timer armed first, then last.
    loop = asyncio.get_running_loop()
    for order in ("armed before the scope's", "armed after the scope's"):
        t1 = kata.now()
        went_on = False
        result = "nothing"
        try:
            async with asyncio.timeout(1.0 if order.startswith("armed before") else None) as cm:
                async with submission.move_on_after(1.0):
                    if order.startswith("armed after"):
                        cm.reschedule(loop.time() + 1.0)
                    await asyncio.sleep(5)
                went_on = True
                await asyncio.sleep(5)
        except TimeoutError:
            result = "TimeoutError"
        except asyncio.CancelledError:
            task = asyncio.current_task()
            while task is not None and task.uncancel():
                pass
            result = "CancelledError"
        kata.expect(
            result == "TimeoutError" and not went_on,
            f"`async with asyncio.timeout(1.0)` (its timer {order}) around "
            f"`async with move_on_after(1.0)`: both fire at t=1.0 s; the block "
            f"{'went on after the scope' if went_on else 'stopped'} and the timeout raised "
            f"{result}; expected TimeoutError from the outer timeout and nothing run after the "
            "scope: the scope may absorb only its own cancel, not the timeout's",
        )
        kata.expect_time(
            t1, 1.0, what=f"asyncio.timeout(1.0) around move_on_after(1.0) ({order})", exact=True
        )
        kata.expect(_cancelling() == 0, f"cancelling() is {_cancelling()} afterwards; expected 0")


@kata.check(
    "cancellation sweep: a cancel from outside at any instant, deadlines included, propagates",
    group="cancellation",
    hint=4,
)
async def test_cancellation_sweep(submission, probes):
    what = (
        "move_on_after(1.0) around [0.5 s of work; move_on_after(0.3) around 1.0 s; 1.0 s], "
        "then 0.2 s (the inner scope fires at 0.8 s, the outer at 1.0 s)"
    )

    async def scenario(runs: kata.Probes) -> tuple[bool, bool]:
        async with submission.move_on_after(1.0) as outer:
            async with runs.span("before"):
                await asyncio.sleep(0.5)
            async with submission.move_on_after(0.3) as inner, runs.span("inner block"):
                await asyncio.sleep(1.0)
            async with runs.span("after inner"):
                await asyncio.sleep(1.0)
        async with runs.span("after outer"):
            await asyncio.sleep(0.2)
        return outer.cancelled_caught, inner.cancelled_caught

    await kata.sweep(scenario, what=what, record=probes)
