"""Hidden suite for exercise 03: a Supervisor of named background tasks.

Every check is on the virtual clock. Jobs are probes: they record when they
started, ended, saw a cancellation and ran their ``finally``. Checks that let a
task fail drop the Supervisor at the end, so a failure whose exception nobody
retrieved shows up as asyncio's "Task exception was never retrieved" log inside
the check (or, if the submission's objects form a reference cycle, in the leak
gate's garbage collection right after it).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from grader import kata
from grader.kata import strategies as st

EXACT = 1e-5


class _AsyncioLogs:
    """Records what asyncio reports to the loop's exception handler, and passes it on."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.previous = self.loop.get_exception_handler()
        self.seen: list[dict[str, Any]] = []
        self.loop.set_exception_handler(self._handle)

    def _handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.seen.append(context)
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)

    async def expect_none(self, during: str) -> None:
        """Fail on anything asyncio logged, once the caller has dropped the Supervisor.

        Dropping the last reference frees a finished task at once (and asyncio then
        logs an exception nobody retrieved) unless the submission's objects form a
        reference cycle; those wait for the garbage collection the leak gate runs
        after the check, which reports the same log. No collection runs here: a
        full one can take tens of milliseconds of CPU on the loop thread, which the
        blocking gate would charge to the submission.
        """
        await asyncio.sleep(0)
        self.loop.set_exception_handler(self.previous)
        for ctx in self.seen:
            message = str(ctx.get("message", ""))
            exc = ctx.get("exception")
            if "never retrieved" in message:
                kata.fail(
                    f"{during}, asyncio logged 'Task exception was never retrieved' ({exc!r}) "
                    "when the Supervisor and its finished tasks were dropped: a failed task's "
                    "exception must be retrieved as soon as the task ends, even if nobody asks "
                    "for status(). In the done-callback, call task.exception() (after checking "
                    "task.cancelled())"
                )
            if "Exception in callback" in message:
                kata.fail(
                    f"{during}, a done-callback raised {exc!r} (asyncio logged '{message}'). "
                    "task.exception() raises CancelledError on a cancelled task: check "
                    "task.cancelled() first"
                )
            kata.fail(f"{during}, asyncio logged: {message} ({exc!r})")


def _tidy(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    """When a check fails midway, cancel the tasks it left behind before the leak gate looks.

    The Supervisor's tasks outlive a check that stops early; they were not leaked
    by the submission, so they must not trip the leak gate (which would cost
    the timing and cancellation groups too).
    """

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        try:
            await test(*args, **kwargs)
        except BaseException:
            me = asyncio.current_task()
            others = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
            for t in others:
                t.cancel()
            if others:
                await asyncio.wait(others, timeout=60)
            raise

    return run


def _task_or_fail(handle: object, call: str) -> asyncio.Task[Any]:
    if inspect.iscoroutine(handle):
        handle.close()
        kata.fail(
            f"{call} returned a coroutine: spawn must be a plain (synchronous) method that "
            "starts the task and returns the asyncio.Task, not `async def`"
        )
    kata.expect(
        isinstance(handle, asyncio.Task),
        f"{call} returned {handle!r}; it must return the asyncio.Task it started",
    )
    assert isinstance(handle, asyncio.Task)
    return handle


def _plain(value: object) -> object:
    """A dict subclass (defaultdict, OrderedDict) is fine as status(); its content is exact."""
    return dict(value) if isinstance(value, dict) else value


def _status(sup: Any, when: str, expected: dict[str, str], hint: str) -> None:
    kata.expect_equal(_plain(sup.status()), expected, what=f"status() {when}", hint=hint)


# -- behaviour ---------------------------------------------------------------


@kata.check("a spawned task carries its name from its first line", group="behaviour", hint=1)
@_tidy
async def test_task_named_from_first_line(submission, probes):
    sup = submission.Supervisor()
    seen: dict[str, str] = {}

    def make(label: str, delay: float) -> Any:
        async def body() -> str:
            seen[label] = asyncio.current_task().get_name()
            await asyncio.sleep(delay)
            return f"done-{label}"

        return body

    handles = {}
    for label, delay in (("alpha", 0.5), ("beta", 1.0)):
        call = f"spawn(fn, name={label!r})"
        handles[label] = _task_or_fail(sup.spawn(make(label, delay), name=label), call)
        kata.expect_equal(
            handles[label].get_name(),
            label,
            what=f"{call}.get_name()",
            hint="name the task when you create it: asyncio.create_task(fn(), name=name)",
        )
    await asyncio.sleep(2.0)
    kata.expect_equal(
        seen,
        {"alpha": "alpha", "beta": "beta"},
        what="asyncio.current_task().get_name() on the first line of each spawned coroutine",
        hint="the task must carry its name before it first runs: pass name= to asyncio.create_task",
    )
    for label, task in handles.items():
        kata.expect(
            task.done() and not task.cancelled() and task.exception() is None,
            f"the Task returned by spawn(fn, name={label!r}) is not a finished, successful "
            f"task after its coroutine returned: {task!r}",
        )
        kata.expect_equal(
            task.result(),
            f"done-{label}",
            what=f"the Task returned by spawn(fn, name={label!r}), once done, .result()",
            hint="spawn must return the task that runs fn() and carries its return value",
        )


@kata.check(
    "status moves from running to ok, error:<ExcType> or cancelled", group="behaviour", hint=3
)
@_tidy
async def test_status_moves_to_final_state(submission, probes):
    sup = submission.Supervisor()
    sup.spawn(probes.job(1.0, name="fine"), name="fine")
    sup.spawn(probes.job(1.0, exc=ValueError("bad input"), name="broken"), name="broken")
    sup.spawn(probes.job(0.7, exc=KeyError("missing"), name="lost"), name="lost")
    sup.spawn(probes.job(3.0, name="doomed"), name="doomed")
    running = {n: "running" for n in ("fine", "broken", "lost", "doomed")}
    _status(
        sup, "right after spawning 4 tasks", running, 'a task that has not finished is "running"'
    )
    await asyncio.sleep(0.5)
    _status(
        sup,
        "at t=0.5 s, while all 4 tasks run",
        running,
        'a task that has not finished is "running"',
    )
    sup.cancel("doomed")
    await asyncio.sleep(1.0)
    _status(
        sup,
        "at t=1.5 s (fine returned at 1.0, broken raised ValueError at 1.0, lost raised "
        "KeyError at 0.7, doomed was cancelled at 0.5)",
        {
            "fine": "ok",
            "broken": "error:ValueError",
            "lost": "error:KeyError",
            "doomed": "cancelled",
        },
        "record each outcome in a done-callback: task.cancelled() first (task.exception() "
        'raises on a cancelled task), then "error:" + type(exc).__name__, else "ok"',
    )
    await asyncio.sleep(2.0)
    _status(
        sup,
        "at t=3.5 s",
        {
            "fine": "ok",
            "broken": "error:ValueError",
            "lost": "error:KeyError",
            "doomed": "cancelled",
        },
        "a finished task keeps its final status",
    )


@kata.check("rename updates both get_name() and the status keys", group="behaviour", hint=4)
@_tidy
async def test_rename_updates_name_and_status(submission, probes):
    sup = submission.Supervisor()
    names_inside: list[str] = []

    async def draft() -> None:
        await asyncio.sleep(1.0)
        names_inside.append(asyncio.current_task().get_name())

    task = _task_or_fail(sup.spawn(draft, name="draft"), "spawn(draft, name='draft')")
    other = _task_or_fail(
        sup.spawn(probes.job(2.0, name="other"), name="other"), "spawn(job, name='other')"
    )
    await asyncio.sleep(0.5)
    sup.rename("draft", "final")
    kata.expect_equal(
        task.get_name(),
        "final",
        what="after rename('draft', 'final'), the task's get_name()",
        hint="rename must call Task.set_name(new)",
    )
    _status(
        sup,
        "at t=0.5 s after rename('draft', 'final')",
        {"final": "running", "other": "running"},
        "the status keys must follow the rename: 'draft' is gone, 'final' is there",
    )
    await asyncio.sleep(1.0)
    kata.expect_equal(
        names_inside,
        ["final"],
        what="asyncio.current_task().get_name() inside the renamed task, after the rename",
        hint="rename must call Task.set_name(new) on the running task",
    )
    _status(
        sup,
        "at t=1.5 s (the renamed task finished at 1.0 s)",
        {"final": "ok", "other": "running"},
        "the outcome must land under the task's current name: don't file it under the "
        "name the task had when it was spawned",
    )
    await asyncio.sleep(1.0)
    sup.rename("other", "archived")
    kata.expect_equal(
        other.get_name(),
        "archived",
        what="after rename('other', 'archived') of a finished task, its get_name()",
        hint="a finished task is still tracked and can be renamed",
    )
    _status(
        sup,
        "at t=2.5 s after rename('other', 'archived') of the finished task",
        {"final": "ok", "archived": "ok"},
        "a finished task keeps its status under its new name",
    )


@kata.check("names in use, unknown names: ValueError, KeyError, False", group="behaviour", hint=2)
@_tidy
async def test_name_rules(submission, probes):
    sup = submission.Supervisor()
    sup.spawn(probes.job(1.0, name="a"), name="a")

    def expect_raises(kind: type[Exception], call: str, fn: Any, why: str) -> None:
        try:
            fn()
        except kind:
            return
        except Exception as exc:
            kata.fail(f"{call} raised {exc!r}; it must raise {kind.__name__} ({why})")
        kata.fail(f"{call} returned; it must raise {kind.__name__} ({why})")

    expect_raises(
        ValueError,
        "spawn(fn, name='a') while task 'a' runs",
        lambda: sup.spawn(probes.job(1.0, name="dup-running"), name="a"),
        "a name in use cannot be spawned again",
    )
    await asyncio.sleep(1.5)
    expect_raises(
        ValueError,
        "spawn(fn, name='a') after task 'a' finished",
        lambda: sup.spawn(probes.job(1.0, name="dup-finished"), name="a"),
        "a finished task still holds its name while the Supervisor tracks it",
    )
    sup.spawn(probes.job(1.0, name="b"), name="b")
    expect_raises(
        ValueError,
        "rename('b', 'a')",
        lambda: sup.rename("b", "a"),
        "'a' is in use by a finished task",
    )
    expect_raises(
        KeyError,
        "rename('nobody', 'c')",
        lambda: sup.rename("nobody", "c"),
        "there is no task named 'nobody'",
    )
    kata.expect_equal(
        sup.cancel("nobody"),
        False,
        what="cancel('nobody') (no such task)",
        hint="an unknown name returns False",
    )
    _status(
        sup,
        "after the rejected calls",
        {"a": "ok", "b": "running"},
        "a rejected spawn or rename must change nothing",
    )
    await asyncio.sleep(1.0)
    dups = [r.name for r in probes.records if r.name.startswith("dup")]
    kata.expect(
        not dups,
        f"a rejected spawn still ran its job ({dups}): check the name before calling fn()",
    )


# -- timing ------------------------------------------------------------------


@kata.check("join waits for tasks of 1, 2 and 3 s: 3.0 s", group="timing", hint=5)
@_tidy
async def test_join_waits_for_all(submission, probes):
    sup = submission.Supervisor()
    for i, delay in enumerate([1.0, 2.0, 3.0]):
        sup.spawn(probes.job(delay, name=f"t{i}"), name=f"t{i}")
    t0 = kata.now()
    await sup.join()
    kata.expect_time(
        t0,
        3.0,
        what="join() over tasks of 1, 2 and 3 s",
        hint="join must wait until every task is done (and no longer); the tasks run "
        "concurrently, so the longest one sets the time",
        too_fast="join returned while a task was still running",
    )
    unfinished = [r.name for r in probes.records if r.finally_at is None]
    kata.expect(not unfinished, f"join() returned while {unfinished} were still running")


@kata.check("join also waits for a task spawned while it waits", group="timing", hint=5)
@_tidy
async def test_join_waits_for_late_spawn(submission, probes):
    sup = submission.Supervisor()
    for i, delay in enumerate([1.0, 2.0, 3.0]):
        sup.spawn(probes.job(delay, name=f"t{i}"), name=f"t{i}")

    async def spawner() -> None:
        await asyncio.sleep(2.5)
        sup.spawn(probes.job(1.0, name="late"), name="late")

    sup.spawn(spawner, name="spawner")
    t0 = kata.now()
    await sup.join()
    kata.expect_time(
        t0,
        3.5,
        what="join() over tasks of 1, 2 and 3 s plus a 1 s task spawned at t=2.5 s",
        hint="join must wait until nothing is pending, including tasks spawned while it "
        "waits, and return as soon as the last one is done (wait on the tasks, don't poll)",
        too_fast="join returned while the task spawned at t=2.5 s was still running: a single "
        "gather/wait over the tasks that existed when join was called misses it. Loop until "
        "no tracked task is pending",
    )


# -- cancellation and errors -------------------------------------------------


@kata.check(
    "cancel(name) cancels that task only; a finished task gives False", group="cancellation", hint=2
)
@_tidy
async def test_cancel_by_name(submission, probes):
    logs = _AsyncioLogs()
    sup = submission.Supervisor()
    for name, delay in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        sup.spawn(probes.job(delay, name=name), name=name)
    sup.spawn(probes.job(0.2, exc=ValueError("crashed"), name="crash"), name="crash")
    await asyncio.sleep(0.5)
    kata.expect_equal(
        sup.cancel("b"),
        True,
        what="cancel('b') at t=0.5 s while b runs",
        hint="return what Task.cancel() returned",
    )
    await asyncio.sleep(0.1)
    b = probes.get("b")
    kata.expect(
        b.cancelled is not None and abs(b.cancelled - 0.5) <= EXACT and b.ended is None,
        f"task b should have been cancelled at t=0.5 s; it recorded cancelled={b.cancelled}, "
        f"ended={b.ended}: cancel('b') must call Task.cancel() on b",
    )
    kata.expect(
        b.finally_at is not None and abs(b.finally_at - 0.5) <= EXACT,
        f"b's `finally` ran at {b.finally_at} instead of t=0.5 s",
    )
    await asyncio.sleep(3.0)
    for name, end in (("a", 1.0), ("c", 3.0)):
        rec = probes.get(name)
        kata.expect(
            rec.cancelled is None and rec.ended is not None and abs(rec.ended - end) <= EXACT,
            f"cancel('b') disturbed task {name!r}: it recorded cancelled={rec.cancelled}, "
            f"ended={rec.ended} (expected to end at t={end} s untouched)",
        )
    kata.expect_equal(
        sup.cancel("a"),
        False,
        what="cancel('a') after task a finished",
        hint="Task.cancel() returns False for a finished task; return what it returned",
    )
    kata.expect_equal(
        sup.cancel("b"),
        False,
        what="cancel('b') again, after b was cancelled",
        hint="Task.cancel() returns False for a finished (here: cancelled) task",
    )
    del sup
    await logs.expect_none("after cancel('b') and a task that crashed with ValueError")


@kata.check("cancelling join's caller leaves the tasks running", group="cancellation", hint=5)
@_tidy
async def test_cancelling_join_caller_leaves_tasks(submission, probes):
    sup = submission.Supervisor()
    for name, delay in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        sup.spawn(probes.job(delay, name=name), name=name)

    async def caller() -> None:
        await sup.join()

    t0 = kata.now()
    waiter = asyncio.ensure_future(caller())
    await asyncio.sleep(0.5)
    waiter.cancel()
    try:
        await waiter
    except asyncio.CancelledError:
        pass
    else:
        kata.fail(
            "join() returned normally after its caller was cancelled at t=0.5 s; the "
            "cancellation must propagate (don't swallow CancelledError)"
        )
    await asyncio.sleep(max(0.0, 3.5 - (kata.now() - t0)))
    hit = [r.name for r in probes.records if r.cancelled is not None]
    kata.expect(
        not hit,
        f"cancelling join()'s caller at t=0.5 s also cancelled the tasks {hit}: join must only "
        "wait for them. gather() cancels its children when it is cancelled; asyncio.wait "
        "(or asyncio.shield) does not",
    )
    for name, end in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        rec = probes.get(name)
        kata.expect(
            rec.ended is not None and abs(rec.ended - end) <= EXACT,
            f"task {name!r} should have run to its end at t={end} s after join's caller was "
            f"cancelled; it recorded ended={rec.ended}, cancelled={rec.cancelled}",
        )
    _status(sup, "at t=3.5 s", {"a": "ok", "b": "ok", "c": "ok"}, "the tasks finished normally")


@kata.check("join never raises the tasks' errors", group="cancellation", hint=5)
@_tidy
async def test_join_never_raises(submission, probes):
    logs = _AsyncioLogs()
    sup = submission.Supervisor()
    sup.spawn(probes.job(1.0, name="ok"), name="ok")
    sup.spawn(probes.job(0.5, exc=ValueError("bad"), name="bad"), name="bad")
    sup.spawn(probes.job(0.8, exc=KeyError("worse"), name="worse"), name="worse")
    victim = _task_or_fail(
        sup.spawn(probes.job(2.0, name="victim"), name="victim"), "spawn(job, name='victim')"
    )
    await asyncio.sleep(0.2)
    victim.cancel()
    del victim
    try:
        await sup.join()
    except asyncio.CancelledError:
        kata.fail(
            "join() raised CancelledError although nobody cancelled its caller: one of the "
            "tasks it waited for was cancelled. gather(*tasks) passes a child's cancellation "
            "on; wait with asyncio.wait or gather(..., return_exceptions=True)"
        )
    except Exception as exc:
        kata.fail(
            f"join() raised {exc!r}, a task's error: join must never raise the tasks' errors "
            "(they belong in status()). gather(*tasks) re-raises the first one; use "
            "asyncio.wait or gather(..., return_exceptions=True)"
        )
    unfinished = [r.name for r in probes.records if r.finally_at is None]
    kata.expect(not unfinished, f"join() returned while {unfinished} were still running")
    del sup
    await logs.expect_none("after join() over tasks that raised ValueError and KeyError")


# -- instruments: a property over spawn trees, and a cancellation sweep --------


def _steps_job(runs: kata.Probes, name: str, steps: tuple[float, ...]) -> Any:
    """A job that sleeps each of ``steps`` in turn (so it waits at several instants)."""

    async def body() -> str:
        async with runs.span(name):
            for step in steps:
                await asyncio.sleep(step)
        return f"result-{name}"

    return body


_OUTCOMES = ("ok", "error:ValueError", "error:KeyError", "cancelled")


def _spawn_tree(
    sup: Any, t0: float, plan: tuple[Any, ...], prefix: str
) -> dict[str, tuple[float, str]]:
    """Spawn the tasks of ``plan``; returns name -> (planned end, expected status), children too.

    Each entry of ``plan`` is ``(quarters, outcome, children)``: the task sleeps
    ``quarters / 4`` s, then spawns its children (same shape) and ends with its
    outcome (returns, raises ValueError or KeyError, or cancels itself with
    ``sup.cancel(name)``).
    """
    expected: dict[str, tuple[float, str]] = {}

    def plan_of(entries: tuple[Any, ...], start: float, path: str) -> list[tuple[str, Any]]:
        out = []
        for i, (quarters, outcome, children) in enumerate(entries):
            name = f"{path}{i}"
            end = start + quarters / 4
            expected[name] = (end, _OUTCOMES[outcome])
            out.append((name, (quarters, outcome, plan_of(children, end, f"{name}."))))
        return out

    def make(name: str, spec: tuple[float, int, list[tuple[str, Any]]]) -> Any:
        quarters, outcome, children = spec

        async def body() -> str:
            await asyncio.sleep(quarters / 4)
            for child_name, child_spec in children:
                sup.spawn(make(child_name, child_spec), name=child_name)
            if outcome == 1:
                raise ValueError(name)
            if outcome == 2:
                raise KeyError(name)
            if outcome == 3:
                sup.cancel(name)  # cancelled through the Supervisor, at its planned end
                await asyncio.Event().wait()
            return name

        return body

    for name, spec in plan_of(plan, t0, prefix):
        sup.spawn(make(name, spec), name=name)
    return expected


@kata.check(
    "join waits for tasks spawned by tasks spawned while it waits, and never raises "
    "(property, 30 spawn trees)",
    group="timing",
    hint=5,
)
def test_join_over_spawn_trees(submission):

    quarters = st.integers(0, 8)
    outcome = st.integers(0, len(_OUTCOMES) - 1)
    leaf = st.tuples(quarters, outcome, st.just(()))
    middle = st.tuples(quarters, outcome, st.lists(leaf, max_size=2).map(tuple))
    top = st.tuples(quarters, outcome, st.lists(st.one_of(leaf, middle), max_size=2).map(tuple))
    trees = st.lists(st.one_of(leaf, top), min_size=1, max_size=3).map(tuple)

    async def check(plan: tuple[Any, ...]) -> str | None:
        sup = submission.Supervisor()
        t0 = kata.now()
        expected = _spawn_tree(sup, t0, plan, "t")
        try:
            await sup.join()
        except BaseException as exc:
            return (
                f"join() raised {exc!r}: it must wait for every task (also tasks spawned by "
                "tasks) and never raise their errors or cancellations"
            )
        took = kata.now() - t0
        last = max(end for end, _ in expected.values()) - t0
        if not last - 1e-9 <= took <= last + 0.01:
            late = sorted(n for n, (end, _) in expected.items() if end - t0 > took + 1e-9)
            return (
                f"join() returned after {kata.seconds(took)}; the last task ended at "
                f"{kata.seconds(last)}"
                + (
                    f": tasks {late} were spawned while join waited and were still running. "
                    "Keep waiting until no tracked task is pending, however many times tasks "
                    "spawn more tasks"
                    if late
                    else ": return as soon as the last task is done"
                )
            )
        await asyncio.sleep(0.25)
        got = _plain(sup.status())
        want = {name: status for name, (_, status) in expected.items()}
        if got != want:
            wrong = {n: got.get(n) for n in want if got.get(n) != want[n]}
            return (
                f"status() after join() was {got!r}; expected {want!r} (wrong or missing: "
                f"{wrong}). Record every outcome, including those of tasks spawned by tasks"
            )
        return None

    kata.forall(trees, check, what="Supervisor with a tree of spawns, then join()", examples=30)


@kata.check(
    "cancellation sweep: cancelling join's caller at any instant leaves every task running",
    group="cancellation",
    hint=5,
)
@_tidy
async def test_cancellation_sweep(submission, probes):
    # The supervised tasks record into their own probes: they rightly keep running
    # after join's caller is cancelled, so they are not "left unfinished" by it.
    supervised: dict[int, kata.Probes] = {}

    async def scenario(runs: kata.Probes) -> None:
        tasks = kata.Probes()
        supervised[id(runs)] = tasks
        sup = submission.Supervisor()
        sup.spawn(tasks.job(1.0, name="a"), name="a")
        sup.spawn(tasks.job(2.0, name="b"), name="b")

        async def spawner() -> None:
            await asyncio.sleep(0.5)
            # Spawned while join waits: ends at 3.5 s, and waits at 2.5 s on its way.
            sup.spawn(_steps_job(tasks, "late", (2.0, 1.0)), name="late")

        sup.spawn(spawner, name="spawner")
        async with runs.span("join"):
            await sup.join()

    def tasks_untouched(runs: kata.Probes) -> str | None:
        tasks = supervised.pop(id(runs))
        runs.records.extend(tasks.records)  # the report's timeline shows the tasks too
        hit = [r.name for r in tasks.records if r.cancelled is not None]
        if hit:
            return (
                f"cancelling join()'s caller also cancelled the tasks {hit}: join must only "
                "wait for them, in every round of waiting (tasks spawned while it waits "
                "included). gather() cancels its children when it is cancelled; asyncio.wait "
                "(or a shield) does not"
            )
        return None

    await kata.sweep(
        scenario,
        what="join() over tasks of 1 and 2 s plus a task spawned at 0.5 s that ends at 3.5 s",
        invariant=tasks_untouched,
        tasks_may_remain=True,
        record=probes,
    )
