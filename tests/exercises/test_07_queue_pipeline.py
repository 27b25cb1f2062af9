"""Hidden suite for exercise 07: run_pipeline.

Every check is on the virtual clock. Stage functions are probes (each call
records its start, end, cancellation and ``finally``), and the sources are
generators that count how many items were pulled and record when their own
``finally`` ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from grader import kata
from grader.kata import strategies as st

CALL = "run_pipeline"
EXACT = 1e-5  # "exact" in the curriculum: a few clock ticks


class Source:
    """A counting source: ``agen()`` and ``gen()`` yield ``items`` and record what happened."""

    def __init__(self, items: list[Any], on_pull: Callable[[], None] | None = None) -> None:
        self.items = items
        self.pulled = 0
        self.finally_at: float | None = None
        self._on_pull = on_pull

    def _pull(self) -> None:
        self.pulled += 1
        if self._on_pull is not None:
            self._on_pull()

    async def agen(self):
        try:
            for item in self.items:
                self._pull()
                yield item
        finally:
            self.finally_at = asyncio.get_running_loop().time()

    def gen(self):
        try:
            for item in self.items:
                self._pull()
                yield item
        finally:
            self.finally_at = asyncio.get_running_loop().time()


def stage_fn(
    probes: kata.Probes,
    name: str,
    delay: float | Callable[[Any], float],
    transform: Callable[[Any], Any] = lambda x: x,
    *,
    fail_on: Any = None,
    error: BaseException | None = None,
    on_return: Callable[[], None] | None = None,
):
    """A stage function: sleeps ``delay`` (or ``delay(item)``), then returns ``transform(item)``.

    Each call is a probe run named ``<name>:<item>``. With ``error``, the call for the
    item equal to ``fail_on`` raises it after the delay.
    """

    async def fn(item: Any) -> Any:
        async with probes.span(f"{name}:{item!r}"):
            await asyncio.sleep(delay(item) if callable(delay) else delay)
            if error is not None and item == fail_on:
                raise error
            value = transform(item)
        if on_return is not None:
            on_return()
        return value

    return fn


async def _cleanup(task: asyncio.Future[Any]) -> None:
    """Cancel and await a task of the check, so a failed check leaves nothing of its own behind."""
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _spans(probes: kata.Probes, prefix: str) -> list[kata.ProbeRecord]:
    return [r for r in probes.records if r.name.startswith(prefix)]


class _InFlight:
    """Items pulled from the source minus items out of the last stage, and its worst value."""

    def __init__(self) -> None:
        self.n_pulled = 0
        self.n_out = 0
        self.worst = 0
        self.worst_pulled = 0
        self.worst_out = 0
        self.worst_at = 0.0

    def pulled(self) -> None:
        self.n_pulled += 1
        if self.n_pulled - self.n_out > self.worst:
            self.worst = self.n_pulled - self.n_out
            self.worst_pulled, self.worst_out = self.n_pulled, self.n_out
            self.worst_at = asyncio.get_running_loop().time()

    def emitted(self) -> None:
        self.n_out += 1


# ---------------------------------------------------------------- behaviour


@kata.check(
    "output comes back in source order, through every stage in turn", group="behaviour", hint=2
)
async def test_output_in_source_order(submission, probes):
    delays = [3.0, 1.0, 2.0, 0.5, 1.5, 0.25, 1.0, 2.0]
    stages = [
        submission.Stage(stage_fn(probes, "a", 0.1, lambda x: x + 1)),
        submission.Stage(
            stage_fn(probes, "b", lambda x: delays[x - 1], lambda x: x * 10), workers=3
        ),
        submission.Stage(stage_fn(probes, "c", 0.2, lambda x: f"<{x}>"), workers=2),
    ]
    got = await submission.run_pipeline(list(range(8)), stages)
    kata.expect_equal(
        got,
        [f"<{(x + 1) * 10}>" for x in range(8)],
        what=f"{CALL}(range(8), [x+1 (0.1 s), x*10 (3, 1, 2, 0.5, 1.5, 0.25, 1, 2 s; "
        "3 workers), '<x>' (0.2 s; 2 workers)])",
        hint="with several workers, items finish out of order: tag each item with its "
        "source index and return the results in source order, each item having gone "
        "through every stage in turn",
    )


@kata.check("plain and async sources, empty ones too", group="behaviour", hint=3)
async def test_sync_and_async_sources(submission, probes):
    def stages() -> list[Any]:
        return [
            submission.Stage(stage_fn(probes, "double", 0.5, lambda x: x * 2), workers=2),
            submission.Stage(stage_fn(probes, "str", 0.25, str)),
        ]

    items = [3, 1, 4, 1, 5]
    expected = ["6", "2", "8", "2", "10"]
    cases = [
        ("a list", lambda: items, expected),
        ("a generator", lambda: Source(items).gen(), expected),
        ("an async generator", lambda: Source(items).agen(), expected),
        ("a tuple", lambda: tuple(items), expected),
        ("an empty list", lambda: [], []),
        ("an empty async generator", lambda: Source([]).agen(), []),
    ]
    for label, make, want in cases:
        t0 = kata.now()
        got = await submission.run_pipeline(make(), stages())
        kata.expect_equal(
            got,
            want,
            what=f"{CALL}({label} of {items if want else []}, [x*2 (0.5 s; 2 workers), "
            "str (0.25 s)])",
            hint="a source may be any iterable or async iterable (`async for`)",
        )
        if not want:
            kata.expect_time(
                t0,
                0.0,
                what=f"{CALL}({label}, ...)",
                hint="with nothing to process, every worker should stop at once",
            )


@kata.check("backpressure: the source is pulled only when there is room", group="behaviour", hint=3)
async def test_backpressure(submission, probes):
    n_items, workers, maxsize = 100, 2, 1
    n_stages = 2
    bound = n_stages * maxsize + (1 + workers) + 1  # = 6
    for kind in ("async generator", "generator"):
        gauge = _InFlight()
        source = Source(list(range(n_items)), on_pull=gauge.pulled)
        stages = [
            submission.Stage(stage_fn(probes, f"{kind}-fast", 0.0)),
            submission.Stage(
                stage_fn(probes, f"{kind}-slow", 1.0, lambda x: -x, on_return=gauge.emitted),
                workers=workers,
            ),
        ]
        got = await submission.run_pipeline(
            source.agen() if kind == "async generator" else source.gen(),
            stages,
            maxsize=maxsize,
        )
        what = (
            f"{CALL}({kind} of {n_items} items, [0 s stage, 1.0 s stage with {workers} "
            f"workers], maxsize={maxsize})"
        )
        kata.expect(
            gauge.worst <= bound,
            f"{what} had pulled {gauge.worst_pulled} items from the source at "
            f"t={gauge.worst_at:g} s while only {gauge.worst_out} had come out of the last "
            f"stage: at most {bound} may be in flight (one per queue slot, one per worker, "
            "plus one in the feeder's hand). Use asyncio.Queue(maxsize) between stages "
            "(not an unbounded Queue()) and pull the next item only after `put()` found room",
        )
        kata.expect_equal(
            got,
            [-x for x in range(n_items)],
            what=what,
            hint="every item must come out, in source order",
        )


# ------------------------------------------------------------------- timing


@kata.check("3 stages of 1.0 s over 5 items take 7.0 s", group="timing", hint=1)
async def test_three_stages_take_seven_seconds(submission, probes):
    stages = [submission.Stage(stage_fn(probes, f"s{k}", 1.0)) for k in range(3)]
    t0 = kata.now()
    await submission.run_pipeline(list(range(5)), stages)
    kata.expect_time(
        t0,
        7.0,
        what=f"{CALL}(5 items, 3 stages of 1.0 s with 1 worker each)",
        hint="the stages should work at the same time on different items (2 s to fill the "
        "pipeline, then one item per second); taking every item through all stages before "
        "the next one takes 15 s",
        too_fast="did a stage run more workers than it was given?",
    )


@kata.check("a 2-worker stage: [1.0, 2.0 x2, 1.0] over 6 items take 9.0 s", group="timing", hint=4)
async def test_two_worker_stage_takes_nine_seconds(submission, probes):
    stages = [
        submission.Stage(stage_fn(probes, "s0", 1.0)),
        submission.Stage(stage_fn(probes, "s1", 2.0), workers=2),
        submission.Stage(stage_fn(probes, "s2", 1.0)),
    ]
    t0 = kata.now()
    await submission.run_pipeline(list(range(6)), stages)
    kata.expect_time(
        t0,
        9.0,
        what=f"{CALL}(6 items, stages of 1.0 s, 2.0 s with 2 workers, 1.0 s)",
        hint="both workers of the middle stage should be busy at once, each taking the next "
        "item the moment it is free",
        too_fast="did a stage run more workers than it was given?",
    )


# ------------------------------------------------------------- cancellation


def _check_teardown(
    probes: kata.Probes, source: Source, stopped_at: float, pulled_then: int, what: str
) -> None:
    """After ``stopped_at`` (and a long wait), nothing ran, started or was pulled any more."""
    kata.expect(
        source.finally_at is not None and source.finally_at <= stopped_at + 1e-9,
        f"{what}, but the source generator's `finally` "
        + ("never ran" if source.finally_at is None else f"ran only at t={source.finally_at:g} s")
        + f" (the call ended at t={stopped_at:g} s): close the source in a `finally` "
        "(`await source.aclose()`) before the error or cancellation leaves run_pipeline",
    )
    kata.expect(
        source.pulled == pulled_then,
        f"{what}, but the source was still pulled afterwards ({pulled_then} items when the "
        f"call ended, {source.pulled} later): stop feeding the pipeline",
    )
    for rec in probes.records:
        kata.expect(
            rec.started is not None and rec.started <= stopped_at + 1e-9,
            f"{what}, but the stage call {rec.name!r} started at t={rec.started:g} s, after "
            "the call had ended: cancel every worker before raising",
        )
        kata.expect(
            rec.finally_at is not None and rec.finally_at <= stopped_at + 1e-9,
            f"{what}, but the stage call {rec.name!r} "
            + (
                f"finished only at t={rec.finally_at:g} s"
                if rec.finally_at is not None
                else "never finished"
            )
            + ": cancel every worker and wait for them before the call ends",
        )


@kata.check(
    "a stage error cancels everything, closes the source, and is re-raised",
    group="cancellation",
    hint=5,
)
async def test_stage_error_tears_down(submission, probes):
    boom = ValueError("stage 2 cannot handle item 3")
    source = Source(list(range(1, 9)))
    stages = [
        submission.Stage(stage_fn(probes, "s1", 0.5)),
        submission.Stage(stage_fn(probes, "s2", 1.0, fail_on=3, error=boom)),
        submission.Stage(stage_fn(probes, "s3", 0.7)),
    ]
    what = f"{CALL}(items 1..8, 3 stages) with stage 2 raising {boom!r} on item 3"
    call = asyncio.ensure_future(submission.run_pipeline(source.agen(), stages))
    try:
        try:
            await call
        except ValueError as exc:
            kata.expect(
                exc is boom,
                f"{what} raised {exc!r}, but not the stage's own exception object: re-raise "
                "the very exception the stage raised (unwrap an ExceptionGroup, don't build "
                "a new one)",
            )
        except BaseExceptionGroup as group:
            kata.fail(
                f"{what} raised {group!r}: re-raise the stage's own exception, not an "
                "ExceptionGroup around it (a TaskGroup wraps errors: unwrap them)"
            )
        else:
            kata.fail(f"{what} returned instead of raising the stage's error")
        ended_at = kata.now()
        pulled_then = source.pulled
        failed = [r for r in _spans(probes, "s2:") if r.failed is boom]
        kata.expect(bool(failed), f"{what}: the failing stage call was never made")
        raised_at = failed[0].finally_at
        assert raised_at is not None
        kata.expect(
            abs(ended_at - raised_at) <= EXACT,
            f"{what}: the stage raised at t={raised_at:g} s but {CALL} raised only at "
            f"t={ended_at:g} s; an error must end the call at once. Does a `join()` wait "
            "for an item that a crashed worker will never finish? Watch the workers (a "
            "TaskGroup does) so an error cancels the rest at that instant",
        )
        await asyncio.sleep(5.0)  # anything still running would show up now
    finally:
        await _cleanup(call)
    _check_teardown(probes, source, ended_at, pulled_then, what)


@kata.check(
    "cancelling the caller tears the pipeline down the same way", group="cancellation", hint=6
)
async def test_caller_cancel_tears_down(submission, probes):
    source = Source(list(range(5)))
    stages = [submission.Stage(stage_fn(probes, f"s{k}", 1.0)) for k in range(3)]
    what = f"{CALL}(5 items, 3 stages of 1.0 s) cancelled at t=2.5 s"
    t0 = kata.now()
    call = asyncio.ensure_future(submission.run_pipeline(source.agen(), stages))
    try:
        await asyncio.sleep(2.5)
        call.cancel()
        try:
            await call
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            kata.fail(f"{what} raised {exc!r}; the CancelledError must propagate as it is")
        else:
            kata.fail(
                f"{what} returned instead of raising CancelledError: don't swallow the cancellation"
            )
        kata.expect_time(
            t0,
            2.5,
            exact=True,
            what=f"{what}: the cancellation",
            hint="cancel every worker and close the source right away, then let the "
            "CancelledError propagate",
        )
        ended_at = kata.now()
        pulled_then = source.pulled
        in_flight = [r.name for r in probes.records if r.cancelled is not None]
        kata.expect(
            bool(in_flight),
            f"{what}: no running stage call saw the cancellation (stages were busy at "
            "t=2.5 s): cancel the workers",
        )
        await asyncio.sleep(5.0)  # anything still running would show up now
    finally:
        await _cleanup(call)
    _check_teardown(probes, source, ended_at, pulled_then, what)


# -------------------------------------------- instruments: a property and a sweep


@kata.check(
    "any stages, workers and maxsize: source order, every stage in turn, at most `workers` "
    "calls per stage, and the backpressure bound (property, 30 pipelines)",
    group="behaviour",
    hint=3,
)
def test_pipelines_keep_order_and_bounds(submission):

    stage_plans = st.tuples(
        st.integers(1, 3),  # workers
        st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple),  # quarters, by item
    )
    pipelines = st.tuples(
        st.lists(stage_plans, min_size=1, max_size=3).map(tuple),
        st.integers(0, 12),  # items
        st.integers(1, 2),  # maxsize
        st.sampled_from(["async generator", "generator"]),
    )

    async def check(plan: tuple[Any, ...]) -> str | None:
        plans, n_items, maxsize, kind = plan
        gauge = _InFlight()
        source = Source([f"item{i}" for i in range(n_items)], on_pull=gauge.pulled)
        running = [0] * len(plans)
        peak = [0] * len(plans)

        def stage(k: int, workers: int, quarters: tuple[int, ...]) -> Any:
            last = k == len(plans) - 1

            async def fn(item: str) -> str:
                running[k] += 1
                peak[k] = max(peak[k], running[k])
                try:
                    index = int(item.split(">")[0][4:])
                    await asyncio.sleep(quarters[index % len(quarters)] / 4)
                finally:
                    running[k] -= 1
                if last:
                    gauge.emitted()
                return f"{item}>{k}"

            return submission.Stage(fn, workers=workers)

        stages = [stage(k, w, q) for k, (w, q) in enumerate(plans)]
        got = await submission.run_pipeline(
            source.agen() if kind == "async generator" else source.gen(), stages, maxsize=maxsize
        )
        path = "".join(f">{k}" for k in range(len(plans)))
        want = [f"item{i}{path}" for i in range(n_items)]
        if got != want:
            return (
                f"it returned {got!r}; expected {want!r}: every item goes through every "
                "stage in turn, and the output comes back in source order"
            )
        over = [k for k, (w, _) in enumerate(plans) if peak[k] > w]
        if over:
            k = over[0]
            return (
                f"stage {k} ran {peak[k]} calls at once with workers={plans[k][0]}: start "
                "exactly `workers` tasks per stage"
            )
        bound = len(plans) * maxsize + sum(w for w, _ in plans) + 1
        if gauge.worst > bound:
            return (
                f"{gauge.worst_pulled} items had been pulled from the source at "
                f"t={gauge.worst_at:g} s while only {gauge.worst_out} had come out of the last "
                f"stage: at most {bound} may be in flight (stages x maxsize, plus one per "
                "worker, plus one in the feeder's hand). Every queue holds at most maxsize "
                "items; pull the next item only after `put()` found room"
            )
        return None

    kata.forall(
        pipelines,
        check,
        what=f"{CALL}(source of n items, stages given as (workers, delays in quarter seconds "
        "by item), maxsize)",
        examples=30,
    )


@kata.check(
    "cancellation sweep: a cancel at any instant tears the pipeline down",
    group="cancellation",
    hint=6,
)
async def test_cancellation_sweep(submission, probes):
    # Per run: the source, and what it had done in the very step the call ended.
    sources: dict[int, Source] = {}
    at_exit: dict[int, tuple[bool, int]] = {}

    async def scenario(runs: kata.Probes) -> Any:
        source = Source(list(range(6)))
        sources[id(runs)] = source
        stages = [
            submission.Stage(stage_fn(runs, "s0", 1.0)),
            submission.Stage(stage_fn(runs, "s1", 2.0), workers=2),
            submission.Stage(stage_fn(runs, "s2", 1.0)),
        ]
        try:
            return await submission.run_pipeline(source.agen(), stages)
        finally:
            at_exit[id(runs)] = (source.finally_at is not None, source.pulled)

    def torn_down(runs: kata.Probes) -> str | None:
        source = sources.pop(id(runs))
        closed, pulled = at_exit.pop(id(runs))
        if not closed:
            return (
                "the source generator's `finally` had not run when the CancelledError left "
                f"{CALL}: close the source (`await source.aclose()`) before the cancellation "
                "leaves"
            )
        if source.pulled != pulled:
            return (
                f"the source was still pulled after the cancellation ({pulled} items when it "
                f"left {CALL}, {source.pulled} later): stop feeding the pipeline"
            )
        return None

    await kata.sweep(
        scenario,
        what=f"{CALL}(6 items, stages of 1.0 s, 2.0 s with 2 workers, 1.0 s)",
        invariant=torn_down,
        record=probes,
    )
