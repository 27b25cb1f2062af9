"""Hidden suite for exercise 17: spawn_eager and lookup_all (Python 3.12+).

Every check is on the virtual clock. The grader skips this exercise below
Python 3.12 ("needs Python 3.12+"), so the suite may use 3.12 APIs.

``spawn_eager`` is probed with small coroutines that log what they see in
their first step. ``lookup_all`` gets a loader whose loads are probe runs and,
where it matters, a spy cache that records in which loop cycle each key was
read (``kata.loop_stats().cycles_with_callbacks`` only changes between two
loop iterations).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from grader import kata

SPAWN = "spawn_eager"
LOOKUP = "lookup_all"


def _spawn(submission, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Call ``spawn_eager``; if it raises, close the coroutine so only its error is reported."""
    try:
        task = submission.spawn_eager(coro, name=name)
    except BaseException:
        coro.close()
        raise
    kata.expect(
        asyncio.isfuture(task) and callable(getattr(task, "get_name", None)),
        f"{SPAWN}(coro, name={name!r}) returned {task!r}; it must return the asyncio.Task "
        "that runs the coroutine",
    )
    return task


def _loader(probes: kata.Probes, delays: dict[str, float]):
    """A loader whose every call is a probe run named after the key."""
    calls: list[str] = []

    async def load(key: str) -> str:
        calls.append(key)
        async with probes.span(key):
            await asyncio.sleep(delays[key])
        return f"loaded-{key}"

    return load, calls


class SpyCache(dict):  # type: ignore[type-arg]
    """A dict that records ``(key, loop cycle)`` for every read of a key."""

    def __init__(self, data: dict[str, str]) -> None:
        super().__init__(data)
        self.reads: list[tuple[str, int]] = []

    def _seen(self, key: object) -> None:
        self.reads.append((str(key), kata.loop_stats().cycles_with_callbacks))

    def __getitem__(self, key: str) -> str:
        self._seen(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._seen(key)
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._seen(key)
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._seen(key)
        return super().setdefault(key, default)

    # Reading the whole cache (iterating it, or its keys, items, values, a copy)
    # reads every key in it.
    def _seen_all(self) -> None:
        for key in list(dict.__iter__(self)):
            self._seen(key)

    def __iter__(self) -> Any:
        self._seen_all()
        return super().__iter__()

    def keys(self) -> Any:
        self._seen_all()
        return super().keys()

    def items(self) -> Any:
        self._seen_all()
        return super().items()

    def values(self) -> Any:
        self._seen_all()
        return super().values()

    def copy(self) -> dict[str, str]:
        self._seen_all()
        return dict(super().items())


# ---------------------------------------------------------------- behaviour


@kata.check(
    "the child's first step runs before the parent's next statement", group="behaviour", hint=1
)
async def test_child_runs_before_parent_continues(submission, probes):
    log: list[str] = []

    async def child() -> str:
        log.append("child: first step")
        await asyncio.sleep(1.0)
        log.append("child: resumed")
        return "child-result"

    task = _spawn(submission, child(), "child")
    log.append("parent: next statement")
    early = list(log)
    result = await task
    kata.expect(
        early == ["child: first step", "parent: next statement"],
        f"right after {SPAWN}(child(), name='child') returned, the log was {early}; the child's "
        "first step must already have run, so it must read ['child: first step', "
        "'parent: next statement']: "
        + (
            "the child had not started yet, as with a plain create_task (it waits for the "
            "next loop iteration); start it eagerly"
            if "child: first step" not in early
            else "the child ran further than its first await"
        ),
    )
    kata.expect_equal(result, "child-result", what=f"awaiting the task from {SPAWN}")
    kata.expect(
        log[-1] == "child: resumed",
        f"the child never resumed after its first await (log: {log})",
    )


@kata.check(
    "a coroutine that never suspends is done() right after spawning", group="behaviour", hint=3
)
async def test_non_suspending_task_done_at_once(submission, probes):
    async def quick() -> int:
        return 42

    task = _spawn(submission, quick(), "quick")
    done = task.done()
    if not done:
        await task  # let it finish so nothing is left behind
    kata.expect(
        done,
        f"{SPAWN}(quick(), name='quick') returned a task that was not done() yet, although "
        "quick() returns without ever suspending; an eager task runs to the first real "
        "suspension inside the call (a plain create_task only schedules it)",
    )
    kata.expect_equal(task.result(), 42, what=f"the task from {SPAWN}(quick(), ...).result()")


@kata.check(
    "the task already has its name (and is current) in its first step", group="behaviour", hint=2
)
async def test_name_in_first_step(submission, probes):
    seen: list[tuple[str | None, asyncio.Task[Any] | None]] = []

    async def child() -> None:
        me = asyncio.current_task()
        seen.append((me.get_name() if me is not None else None, me))
        await asyncio.sleep(0.5)

    task = _spawn(submission, child(), "fetch-user-42")
    await task
    kata.expect(seen, "the child coroutine never ran")
    name, me = seen[0]
    kata.expect(
        name == "fetch-user-42",
        f"in its first step the child saw asyncio.current_task().get_name() == {name!r}; "
        f"expected 'fetch-user-42' (spawned with name='fetch-user-42'): "
        + (
            "the name was set after the first step ran (set_name after creation, or a "
            "create_task through a swapped factory): give the name to the task as it is "
            "built, e.g. eager_task_factory(loop, coro, name=name)"
            if name is not None and name.startswith("Task-")
            else "pass the name when the task is built"
        ),
    )
    kata.expect(
        me is task,
        f"in its first step the child's current_task() was {me!r}, not the task {SPAWN} "
        f"returned ({task!r})",
    )
    kata.expect_equal(task.get_name(), "fetch-user-42", what="task.get_name() after the call")


@kata.check("the loop's task factory is left untouched", group="behaviour", hint=2)
async def test_task_factory_untouched(submission, probes):
    loop = asyncio.get_running_loop()

    def custom_factory(loop, coro, **kwargs):  # the application's own factory
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def child() -> None:
        await asyncio.sleep(0.1)

    lazy_ran: list[bool] = []

    async def lazy() -> None:
        lazy_ran.append(True)

    try:
        for installed, label in ((None, "no factory (None)"), (custom_factory, "a custom factory")):
            loop.set_task_factory(installed)
            task = _spawn(submission, child(), "child")
            after = loop.get_task_factory()
            await task
            kata.expect(
                after is installed,
                f"with {label} installed on the loop, loop.get_task_factory() was {after!r} "
                f"after {SPAWN} returned; it must be left exactly as it was: call the eager "
                "factory yourself instead of installing it (loop.set_task_factory changes "
                "every later create_task in the program)",
            )
            lazy_ran.clear()
            later = asyncio.create_task(lazy())
            ran_early = bool(lazy_ran)
            await later
            kata.expect(
                not ran_early,
                f"after {SPAWN}, a plain asyncio.create_task became eager too: the loop's task "
                "factory was changed",
            )
    finally:
        loop.set_task_factory(None)


@kata.check(
    "returns every key's value; loads only the misses and caches them", group="behaviour", hint=4
)
async def test_lookup_all_results(submission, probes):
    cache = {"a": "cached-a", "c": "cached-c", "unused": "cached-unused"}
    load, calls = _loader(probes, {"b": 1.0, "d": 0.5})
    got = await submission.lookup_all(["a", "b", "c", "d"], cache, load)
    kata.expect_equal(
        got,
        {"a": "cached-a", "b": "loaded-b", "c": "cached-c", "d": "loaded-d"},
        what=f"{LOOKUP}(['a', 'b', 'c', 'd'], cache with a and c, loader)",
        hint="hits come from the cache, misses from `await loader(key)`, one entry per key asked for",
    )
    kata.expect(
        sorted(calls) == ["b", "d"],
        f"the loader was called for {calls}; it must be called once for each miss (b, d) "
        "and never for a cache hit",
    )
    kata.expect_equal(
        cache,
        {
            "a": "cached-a",
            "c": "cached-c",
            "unused": "cached-unused",
            "b": "loaded-b",
            "d": "loaded-d",
        },
        what=f"dict(cache) after {LOOKUP}",
        hint="store each loaded value in `cache` (and leave the other entries alone)",
    )
    t1 = kata.now()
    again = await submission.lookup_all(["a", "c"], cache, load)
    kata.expect_equal(again, {"a": "cached-a", "c": "cached-c"}, what=f"{LOOKUP}(['a', 'c'], ...)")
    kata.expect_time(
        t1, 0.0, what=f"{LOOKUP} with only cache hits", hint="hits must not wait for anything"
    )
    kata.expect(sorted(calls) == ["b", "d"], "the loader was called although every key was a hit")


@kata.check(
    "every cache hit is read in the loop iteration lookup_all was called in",
    group="behaviour",
    hint=4,
)
async def test_hits_read_in_same_iteration(submission, probes):
    cache = SpyCache({"h1": "cached-h1", "h2": "cached-h2", "h3": "cached-h3"})
    load, _ = _loader(probes, {"m1": 1.0, "m2": 1.0})
    keys = ["h1", "m1", "h2", "m2", "h3"]
    cycle = kata.loop_stats().cycles_with_callbacks
    got = await submission.lookup_all(keys, cache, load)
    kata.expect_equal(
        got,
        {
            "h1": "cached-h1",
            "m1": "loaded-m1",
            "h2": "cached-h2",
            "m2": "loaded-m2",
            "h3": "cached-h3",
        },
        what=f"{LOOKUP}({keys}, cache with h1, h2, h3, loader)",
    )
    first_read: dict[str, int] = {}
    for key, at in cache.reads:
        first_read.setdefault(key, at)
    for key in ("h1", "h2", "h3"):
        kata.expect(
            key in first_read,
            f"{LOOKUP} never read the hit {key!r} from the cache (`key in cache`, "
            "`cache[key]`, `cache.get(key)`, or iterating the cache)",
        )
        late = first_read[key] - cycle
        kata.expect(
            late == 0,
            f"the hit {key!r} was first read from the cache {late} loop iteration(s) after "
            f"{LOOKUP} was called; with eager tasks every hit is read (and its task finished) "
            "while the task is being spawned, in the same iteration as the call: "
            + (
                "plain create_task only runs a task's first step on the next iteration"
                if late == 1
                else "spawn the tasks eagerly, before awaiting anything"
            ),
        )


# ---------------------------------------------------------------- timing


@kata.check("three 1-second misses take 1.0 s", group="timing", hint=5)
async def test_three_misses_take_one_second(submission, probes):
    cache = {"hit": "cached-hit"}
    load, _ = _loader(probes, {"x": 1.0, "y": 1.0, "z": 1.0})
    t0 = kata.now()
    got = await submission.lookup_all(["x", "hit", "y", "z"], cache, load)
    kata.expect_time(
        t0,
        1.0,
        what=f"{LOOKUP} with 3 misses of 1.0 s each",
        hint="the misses must load concurrently (3.0 s means one after another): spawn every "
        "task first, then wait for them together",
    )
    kata.expect(
        probes.peak == 3,
        f"at most {probes.peak} loads ran at once; all 3 misses must load concurrently",
    )
    kata.expect_equal(
        got,
        {"x": "loaded-x", "hit": "cached-hit", "y": "loaded-y", "z": "loaded-z"},
        what=f"{LOOKUP}(['x', 'hit', 'y', 'z'], ...)",
    )


@kata.check("each loaded value is in the cache as soon as it arrives", group="timing", hint=4)
async def test_values_stored_as_they_arrive(submission, probes):
    cache = {"hit": "cached-hit"}
    load, _ = _loader(probes, {"fast": 0.5, "mid": 1.0, "slow": 1.5})
    snapshots: list[tuple[float, dict[str, str]]] = []

    async def watch() -> None:
        await asyncio.sleep(0.25)  # look half-way between two loads
        for _ in range(3):
            snapshots.append((kata.now() - t_call, dict(cache)))
            await asyncio.sleep(0.5)

    t_call = kata.now()
    watching = asyncio.ensure_future(watch())
    try:
        await submission.lookup_all(["fast", "hit", "mid", "slow"], cache, load)
        took = kata.now() - t_call
    finally:
        await watching
    kata.expect(
        1.5 - 1e-9 <= took <= 1.51,
        f"{LOOKUP} with misses of 0.5, 1.0 and 1.5 s took {kata.seconds(took)} of loop time; "
        "it should take 1.5 s (the slowest load): load the misses concurrently",
    )
    loaded = {"fast": 0.5, "mid": 1.0, "slow": 1.5}
    for since, snap in snapshots:
        want = {"hit": "cached-hit"} | {k: f"loaded-{k}" for k, d in loaded.items() if d < since}
        kata.expect(
            snap == want,
            f"{kata.seconds(since)} after {LOOKUP} was called (misses loading 0.5, 1.0 and "
            f"1.5 s) the cache was {snap}; expected {want}: "
            + (
                "store each value the moment its load finishes, not all of them at the end"
                if len(snap) < len(want)
                else "nothing may enter the cache before its load has finished"
            ),
        )


# ---------------------------------------------------------------- cancellation and errors


@kata.check(
    "an exception in the first step is stored on the task, not raised", group="cancellation", hint=3
)
async def test_first_step_exception_stored(submission, probes):
    boom = ValueError("bad input")

    async def failing() -> None:
        raise boom

    try:
        task = _spawn(submission, failing(), "failing")
    except ValueError as exc:
        kata.fail(
            f"{SPAWN}(failing(), ...) raised {exc!r} itself; an exception from the task's first "
            "step belongs to the task (task.exception()), like any task's exception"
        )
    done = task.done()
    if not done:
        await asyncio.gather(task, return_exceptions=True)
    kata.expect(
        done,
        f"the task from {SPAWN}(failing(), ...) was not done() on return, although the "
        "coroutine raises at once; its first step must run inside the call",
    )
    exc = task.exception()
    kata.expect(
        exc is boom,
        f"task.exception() was {exc!r}; expected the very {boom!r} the coroutine raised",
    )


@kata.check("cancel() on an eagerly finished task returns False", group="cancellation", hint=3)
async def test_cancel_on_finished_returns_false(submission, probes):
    async def quick() -> str:
        return "done"

    task = _spawn(submission, quick(), "quick")
    answer = task.cancel()
    if not task.done():
        await asyncio.gather(task, return_exceptions=True)
    kata.expect(
        answer is False,
        f"task.cancel() right after {SPAWN}(quick(), ...) returned {answer!r}; the task had "
        "already finished during spawning, so there was nothing to cancel and it must return "
        "False"
        + ("" if answer is False else " (the task had not run yet: was it started eagerly?)"),
    )
    kata.expect(
        not task.cancelled() and task.result() == "done",
        "the eagerly finished task should keep its result 'done' after cancel()",
    )


@kata.check(
    "a cancel at 0.5 s stops the loads and leaves no partial entries",
    group="cancellation",
    hint=6,
)
async def test_cancel_leaves_no_partial_entries(submission, probes):
    cache = {"hit": "cached-hit"}
    before = dict(cache)
    load, _ = _loader(probes, {"p": 1.0, "q": 1.0, "r": 1.0})
    t0 = kata.now()
    call = asyncio.ensure_future(submission.lookup_all(["p", "hit", "q", "r"], cache, load))
    await asyncio.sleep(0.5)
    call.cancel()
    try:
        await call
    except asyncio.CancelledError:
        pass
    else:
        kata.fail(
            f"{LOOKUP} returned after it was cancelled at t=0.5 s; the CancelledError must "
            "propagate (don't swallow it)"
        )
    kata.expect_time(t0, 0.5, what=f"{LOOKUP} finishing its cancellation", exact=True)
    kata.expect_equal(
        dict(cache),
        before,
        what=f"dict(cache) right after cancelling {LOOKUP} at t=0.5 s",
        hint="no load had finished, so nothing may have been written to the cache",
    )
    await asyncio.sleep(2.0)  # a load still running would finish (and write) now
    kata.expect_equal(
        dict(cache),
        before,
        what=f"dict(cache) 2 s after cancelling {LOOKUP}",
        hint="the loads kept running after the cancel and stored their values: cancel every "
        "unfinished task when lookup_all is cancelled",
    )
    for rec in probes.records:
        kata.expect(
            rec.cancelled is not None and rec.ended is None,
            f"the load of {rec.name!r} was not cancelled when {LOOKUP} was cancelled at "
            "t=0.5 s"
            + (f" (it ran on and finished at t={rec.ended:g} s)" if rec.ended is not None else "")
            + ": cancel every unfinished task when lookup_all is cancelled",
        )
        kata.expect(
            rec.finally_at is not None and abs(rec.finally_at - 0.5) <= 1e-5,
            f"the load of {rec.name!r} ran its cleanup at t={rec.finally_at} s instead of at "
            "the cancel (t=0.5 s): cancel the unfinished tasks and wait for them",
        )
