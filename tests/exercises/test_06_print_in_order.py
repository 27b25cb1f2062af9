"""Hidden suite for exercise 06: InOrder and FooBar.

Every check is on the virtual clock. Each ``emit`` is a probe that sleeps for
a while and records when it started and ended, so the order of the outputs,
their overlaps and the instant each waiter woke are all visible.
"""

from __future__ import annotations

import asyncio
import itertools
import random

from grader import kata

METHODS = ("first", "second", "third")
EXACT = 1e-5  # "exact" in the curriculum: a few clock ticks


def _emit(rec: kata.Probes, duration: float, name: str):
    """An ``emit`` callable: each call is one probe run named ``name`` lasting ``duration``."""
    return rec.job(duration, result=None, name=name)


def _runs(rec: kata.Probes) -> list[kata.ProbeRecord]:
    """The emit runs in the order they started."""
    return sorted(rec.records, key=lambda r: r.started if r.started is not None else 0.0)


def _describe(rec: kata.Probes, t0: float) -> str:
    def t(x: float | None) -> str:
        return "-" if x is None else f"{x - t0:.4f}".rstrip("0").rstrip(".")

    parts = [f"{r.name} [{t(r.started)}..{t(r.ended)}]" for r in _runs(rec)]
    return ", ".join(parts) if parts else "no emit at all"


async def _finish(tasks) -> None:
    """Cancel and await the check's own tasks, so a failed check leaves nothing behind."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _run_in_order(obj, order, starts, durations, rec: kata.Probes) -> None:
    """Call the three methods from three tasks, created in ``order``, each after its delay."""

    async def call(method: str) -> None:
        if starts[method]:
            await asyncio.sleep(starts[method])
        await getattr(obj, method)(_emit(rec, durations[method], method))

    tasks = [asyncio.ensure_future(call(m)) for m in order]
    try:
        await asyncio.gather(*tasks)
    finally:
        await _finish(tasks)


def _check_in_order(rec: kata.Probes, t0: float, context: str) -> None:
    runs = _runs(rec)
    names = [r.name for r in runs]
    kata.expect(
        names == list(METHODS),
        f"{context}: the emits ran as {_describe(rec, t0)}; expected exactly one emit each, "
        "in the order first, second, third (times are seconds since the calls began)",
    )
    for before, after in itertools.pairwise(runs):
        kata.expect(
            before.ended is not None
            and after.started is not None
            and after.started >= before.ended,
            f"{context}: {after.name}'s emit started while {before.name}'s emit was still "
            f"running ({_describe(rec, t0)}): let the next method go only after "
            "`await emit()` has returned, not before",
        )


# ---------------------------------------------------------------- behaviour


@kata.check(
    "InOrder: any start order, any delays, gives first/second/third", group="behaviour", hint=2
)
async def test_any_start_order_runs_in_order(submission):
    rng = random.Random(1114)
    # Each start order once at a single instant, then 4 seeded draws of start
    # delays (in that order) and emit durations: 24 random scenarios in all.
    for order in itertools.permutations(METHODS):
        for draw in range(5):
            if draw == 0:
                # All three called at the same instant, tasks created in this order.
                starts = dict.fromkeys(METHODS, 0.0)
                durations = dict.fromkeys(METHODS, 0.1)
            else:
                offsets = sorted(round(rng.uniform(0.0, 0.4), 3) for _ in METHODS)
                starts = dict(zip(order, offsets, strict=True))
                durations = {m: round(rng.uniform(0.01, 0.3), 3) for m in METHODS}
            rec = kata.Probes()
            obj = submission.InOrder()
            t0 = kata.now()
            await _run_in_order(obj, order, starts, durations, rec)
            calls = ", ".join(f"{m} at t={starts[m]:g}" for m in order)
            emits = ", ".join(f"{m} {durations[m]:g} s" for m in METHODS)
            _check_in_order(rec, t0, f"InOrder() with calls {calls} (emits take {emits})")


@kata.check("FooBar alternates foo, bar, foo, bar, ...", group="behaviour", hint=4)
async def test_foobar_alternates(submission):
    rng = random.Random(1115)
    # (n, task started first, its start delay, the other's, emit durations in emit order)
    cases = [
        (5, "foo", 0.0, 0.0, [0.1] * 10),
        (5, "bar", 0.0, 0.0, [0.1] * 10),
        (1, "bar", 0.0, 0.0, [0.1, 0.1]),
    ]
    for _ in range(20):  # seeded random scenarios
        n = rng.randint(1, 7)
        cases.append(
            (
                n,
                rng.choice(("foo", "bar")),
                0.0,
                round(rng.uniform(0.0, 0.5), 3),
                [round(rng.uniform(0.01, 0.3), 3) for _ in range(2 * n)],
            )
        )
    for n, first_task, first_delay, second_delay, durations in cases:
        rec = kata.Probes()
        other = "bar" if first_task == "foo" else "foo"
        delays = {first_task: first_delay, other: second_delay}
        lengths = {"foo": iter(durations[0::2]), "bar": iter(durations[1::2])}
        obj = submission.FooBar(n)

        def emitter(name: str, rec: kata.Probes = rec, lengths=lengths):
            async def emit() -> None:
                async with rec.span(name):
                    await asyncio.sleep(next(lengths[name], 0.1))

            return emit

        async def call(name: str, obj=obj, delays=delays, emitter=emitter) -> None:
            if delays[name]:
                await asyncio.sleep(delays[name])
            await getattr(obj, name)(emitter(name))

        t0 = kata.now()
        tasks = [asyncio.ensure_future(call(name)) for name in (first_task, other)]
        try:
            await asyncio.gather(*tasks)
        finally:
            await _finish(tasks)
        runs = _runs(rec)
        names = [r.name for r in runs]
        context = (
            f"FooBar({n}) with the {first_task} task started first"
            + (f" and the {other} task {second_delay:g} s later" if second_delay else "")
            + f" (emits of {', '.join(f'{d:g}' for d in durations)} s)"
        )
        kata.expect(
            names == ["foo", "bar"] * n,
            f"{context}: the emits ran as {names}; expected {['foo', 'bar'] * n} "
            "(foo first, then strictly alternating, n times each)"
            + (
                ": is an Event left set so one side runs twice? clear() it when you take your turn"
                if names[:1] == ["foo"] and len(names) == 2 * n
                else ""
            ),
        )
        for before, after in itertools.pairwise(runs):
            kata.expect(
                before.ended is not None
                and after.started is not None
                and after.started >= before.ended,
                f"{context}: an emit of {after.name} started at "
                f"t={(after.started or 0.0) - t0:g} s while {before.name}'s emit (until "
                f"t={(before.ended or 0.0) - t0:g} s) was still running: hand the turn over "
                "only after `await emit()` returned, and take it back (clear the Event) "
                "when you start",
            )


# ------------------------------------------------------------------- timing


@kata.check("InOrder: `second` starts exactly when `first`'s emit ends", group="timing", hint=3)
async def test_second_starts_when_first_emit_ends(submission):
    # (order the tasks are created in, delay before `first` is called)
    scenarios = [(("first", "second", "third"), 0.0), (("third", "second", "first"), 0.0371)]
    for order, first_at in scenarios:
        rec = kata.Probes()
        obj = submission.InOrder()
        starts = {"first": first_at, "second": 0.0, "third": 0.0}
        t0 = kata.now()
        await _run_in_order(obj, order, starts, dict.fromkeys(METHODS, 0.1), rec)
        context = (
            f"InOrder() with tasks started in the order {', '.join(order)}, first called at "
            f"t={first_at:g} s and emits of 0.1 s"
        )
        _check_in_order(rec, t0, context)
        for name, prev in (("second", "first"), ("third", "second")):
            start = rec.get(name).started
            due = rec.get(prev).ended
            assert start is not None and due is not None
            kata.expect(
                abs(start - due) <= EXACT,
                f"{context}: {name}'s emit started at t={start - t0:.4f} s but {prev}'s emit "
                f"ended at t={due - t0:.4f} s; a waiter must wake the very instant it may go. "
                "Are you polling with `asyncio.sleep(...)` in a loop? Wait on an Event "
                "(or a Future, a Semaphore) that the previous method sets",
            )


async def _run_foobar(obj, rec: kata.Probes) -> None:
    """foo and bar from two tasks, emits of 0.1 s each."""
    tasks = [
        asyncio.ensure_future(obj.foo(_emit(rec, 0.1, "foo"))),
        asyncio.ensure_future(obj.bar(_emit(rec, 0.1, "bar"))),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        await _finish(tasks)


@kata.check("FooBar(5) with 0.1 s emits takes exactly 1.0 s", group="timing", hint=3)
async def test_foobar_takes_one_second(submission, probes):
    obj = submission.FooBar(5)
    t0 = kata.now()
    await _run_foobar(obj, probes)
    kata.expect_time(
        t0,
        1.0,
        exact=True,
        what="FooBar(5) with emits of 0.1 s (foo and bar run together)",
        hint="10 emits back to back take 1.0 s; a gap means a waiter woke late (polling "
        "with sleep?), no end means a turn was never handed over",
        too_fast="emits overlapped: a turn must start only after the other side's emit "
        "finished (is an Event never cleared?)",
    )


@kata.check(
    "FooBar wakes each waiter without polling (< 10 loop cycles per emit)", group="timing", hint=3
)
async def test_foobar_wakes_without_polling(submission, probes):
    n = 5
    obj = submission.FooBar(n)
    before = kata.loop_stats().cycles_with_callbacks
    await _run_foobar(obj, probes)
    cycles = kata.loop_stats().cycles_with_callbacks - before
    emits = len(probes.records)
    kata.expect(
        emits == 2 * n,
        f"FooBar({n}) called emit {emits} times in total; expected {n} foo and {n} bar emits",
    )
    per_emit = cycles / emits
    kata.expect(
        per_emit < 10,
        f"FooBar({n}) with emits of 0.1 s made the event loop run callbacks in {cycles} "
        f"cycles, {per_emit:.1f} per emit; a waiter woken by an Event needs about 3. "
        "You are polling (a `while` loop around `asyncio.sleep(...)`): wait on an "
        "asyncio.Event or Semaphore instead, so the waiter sleeps until it is its turn",
    )


# ------------------------------------------------------------- cancellation


@kata.check(
    "cancelling a waiting `third` emits nothing and disturbs nobody", group="cancellation", hint=5
)
async def test_cancel_waiting_third(submission):
    # (when `third` is cancelled, what is running then)
    for cancel_at, during in ((0.1, "first's emit"), (0.2, "second's emit")):
        rec = kata.Probes()
        obj = submission.InOrder()
        t0 = kata.now()
        third = asyncio.ensure_future(obj.third(_emit(rec, 0.1, "third")))
        second = asyncio.ensure_future(obj.second(_emit(rec, 0.1, "second")))
        tasks = [third, second]
        try:
            await asyncio.sleep(0.05)
            first = asyncio.ensure_future(obj.first(_emit(rec, 0.1, "first")))
            tasks.append(first)
            # first's emit runs over [0.05, 0.15], second's over [0.15, 0.25].
            await asyncio.sleep(cancel_at - 0.05)
            context = f"InOrder(): `third` was cancelled at t={cancel_at:g} s, during {during},"
            third.cancel()
            await asyncio.wait([third], timeout=1.0)
            if not third.done():
                kata.fail(
                    f"{context} and 1 s later it was still running: let the CancelledError "
                    "propagate (don't catch it and wait again)"
                )
            if not third.cancelled():
                exc = third.exception()
                kata.fail(
                    f"{context} and it "
                    + (f"raised {exc!r}" if exc is not None else "returned normally")
                    + " instead of raising CancelledError: let the cancellation propagate "
                    "(don't catch it and carry on)"
                )
            try:
                await asyncio.gather(first, second)
            except Exception as exc:
                kata.fail(
                    f"{context} and then `first` or `second` raised {exc!r}: cancelling one "
                    "waiter must not break the others. If you await a Future baton directly, a "
                    "cancel cancels the Future itself; shield it, or check `done()` before "
                    "`set_result`"
                )
            await asyncio.sleep(1.0)  # a third emit would show up now
        finally:
            await _finish(tasks)
        third_runs = [r for r in rec.records if r.name == "third"]
        if third_runs and (third_runs[0].started or 0.0) < t0 + cancel_at:
            kata.fail(
                f"{context} but it was not waiting then: its emit had already started "
                f"({_describe(rec, t0)}). `third` may emit only after second's emit has "
                "finished: pass the baton after `await emit()` returns, not before"
            )
        names = [r.name for r in _runs(rec)]
        kata.expect(
            names == ["first", "second"],
            f"{context} and the emits ran as {_describe(rec, t0)}; expected first then "
            "second only: a cancelled `third` must emit nothing",
        )
        first_rec, second_rec = rec.get("first"), rec.get("second")
        kata.expect(
            first_rec.ended is not None
            and second_rec.ended is not None
            and (second_rec.started or 0.0) >= first_rec.ended,
            f"{context} and the others were disturbed: {_describe(rec, t0)}; first and "
            "second should each emit once, one after the other",
        )
