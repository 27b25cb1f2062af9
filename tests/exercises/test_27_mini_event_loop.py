"""Hidden suite for exercise 27: MiniLoop, an event loop built from scratch.

No asyncio loop runs here. Every check is a plain ``def``: it builds a fresh
``MiniLoop``, hands it coroutines written against the submission's own
``Sleep``, ``MiniTask`` and ``MiniCancelled``, calls ``run`` and reads what the
coroutines recorded on the loop's simulated clock (``loop.time()``). The
grader wraps each check with the "not implemented" and leak conditions (no
coroutine left un-awaited).

Real time matters in three ways: a small run must take well under 0.1 s (the
clock jumps, nothing waits), 20,000 sleepers must finish in under 3 s (a heap,
not a scan), and every check runs under a real-time limit of its own that stops
the learner's ``run`` (by raising inside it from a signal handler) with a
message saying why, instead of the grader's generic time-out.

Durations in the ordering checks are multiples of 1/8, so every correct clock
(float, integer ticks, fractions) computes the same wake times.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from grader import kata

EXACT = 1e-5  # CURRICULUM.md "exact": a few clock ticks
SMALL_RUN_REAL_S = 0.1  # a run of a few sleeps must take less real time than this
SPEED_N = 20_000
SPEED_REAL_S = 3.0  # a heap takes about 0.2 s here; a linear scan 20 s or more
CHECK_REAL_S = 5.0  # real-time limit of an ordinary check (its runs sleep a few s of loop time)
ORDER_AT_SCALE_REAL_S = 6.0  # 40,000 sleeps: twice the work, twice the speed check's limit


# -- a real-time limit that speaks to the learner ----------------------------------


class _OverBudget(BaseException):
    """Raised inside the learner's code when a check's real-time limit is reached."""


class _RealTimeLimit:
    """Raise ``_OverBudget`` in the main thread once ``seconds`` of real time have passed.

    A watchdog thread sends SIGUSR1 to the main thread every 50 ms from then on
    (a real signal also interrupts a ``time.sleep``), so even a loop that
    swallows one ``_OverBudget`` in a broad ``except`` is stopped by a later one.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.elapsed = 0.0
        self.cpu = 0.0
        self._armed = False

    def __enter__(self) -> _RealTimeLimit:
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._old = signal.signal(signal.SIGUSR1, self._on_signal)
        self._armed = True
        self._t0, self._c0 = time.perf_counter(), time.thread_time()
        self._thread = threading.Thread(target=self._watch, name="kata-27-limit", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        if self._stop.wait(self.seconds):
            return
        while True:
            signal.pthread_kill(self._main, signal.SIGUSR1)
            if self._stop.wait(0.05):
                return

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._armed:
            raise _OverBudget

    def __exit__(self, *exc: object) -> bool:
        try:
            self._armed = False
        finally:
            self._armed = False
            self.elapsed = time.perf_counter() - self._t0
            self.cpu = time.thread_time() - self._c0
            self._stop.set()
            self._thread.join()
            # signal.signal() runs any handler still pending first (a no-op now).
            signal.signal(signal.SIGUSR1, self._old)
        return False


def _why_slow(limit: _RealTimeLimit) -> str:
    if limit.cpu < 0.5 * limit.elapsed:
        return (
            f"it spent most of that time waiting ({limit.cpu:.1f} s of CPU): does your loop "
            "wait in real time (time.sleep) instead of jumping its clock to the next wake-up?"
        )
    return (
        f"it spent that time computing ({limit.cpu:.1f} s of CPU): is it scanning every task "
        "or sleeper at each step, or never running out of work?"
    )


@contextlib.contextmanager
def _limited(seconds: float, doing: str) -> Iterator[_RealTimeLimit]:
    """Run a check's body under a real-time limit; going over fails it with ``doing``."""
    limit = _RealTimeLimit(seconds)
    try:
        with limit:
            yield limit
    except _OverBudget:
        kata.fail(
            f"{doing} had not finished after {seconds:g} s of real time and was stopped; "
            + _why_slow(limit)
        )


# -- running the learner's loop ----------------------------------------------------


class _Raised:
    """What ``run`` raised (an Exception or a MiniCancelled)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __repr__(self) -> str:
        return f"raised {type(self.exc).__name__}({self.exc})"


def _run(sub: Any, loop: Any, main: Any) -> Any:
    """``loop.run(main)``: its result, or a ``_Raised`` with what it raised."""
    try:
        return loop.run(main)
    except _OverBudget:
        raise
    except (Exception, sub.MiniCancelled) as exc:
        return _Raised(exc)


def _expect_returned(outcome: Any, what: str) -> None:
    if isinstance(outcome, _Raised):
        exc = outcome.exc
        kata.fail(
            f"{what} raised {type(exc).__name__}: {exc}; it should have returned main's result"
        )


def _near(actual: Any, expected: float) -> bool:
    try:
        return abs(actual - expected) <= EXACT
    except TypeError:
        return False


def _t(x: Any) -> str:
    try:
        return kata.seconds(float(x))
    except (TypeError, ValueError):
        return repr(x)


def _expect_at(actual: Any, expected: float, what: str, hint: str = "") -> None:
    if actual is None:
        kata.fail(f"{what} never happened; it should happen at time() {_t(expected)}")
    if not _near(actual, expected):
        tail = f": {hint}" if hint else ""
        kata.fail(f"{what} happened at time() {_t(actual)}; expected exactly {_t(expected)}{tail}")


# -- behaviour ---------------------------------------------------------------------


def _three_sleepers(sub: Any) -> tuple[Any, Any, list[tuple[str, Any]]]:
    """A loop and a main spawning tasks that sleep 3, 1 and 2 and gathering their results."""
    loop = sub.MiniLoop()
    finished: list[tuple[str, Any]] = []

    async def sleeper(d: float) -> str:
        await sub.Sleep(d)
        finished.append((f"sleep{d:g}", loop.time()))
        return f"slept {d:g}"

    async def main() -> tuple[str, list[str]]:
        tasks = [loop.spawn(sleeper(d), name=f"sleep{d:g}") for d in (3.0, 1.0, 2.0)]
        results = [await t for t in tasks]
        return ("main-result", results)

    return loop, main(), finished


@kata.check(
    "tasks sleeping 3, 1 and 2 s wake in time order, at 1.0, 2.0, 3.0", group="behaviour", hint=3
)
def test_sleepers_wake_in_time_order(submission):
    loop, main, finished = _three_sleepers(submission)
    kata.expect(
        _near(loop.time(), 0.0),
        f"a new MiniLoop's time() is {loop.time()!r}; the simulated clock starts at 0.0",
    )
    with _limited(CHECK_REAL_S, "run(main) with tasks sleeping 3, 1 and 2 s"):
        outcome = _run(submission, loop, main)
    _expect_returned(outcome, "run(main) with tasks sleeping 3, 1 and 2 s")
    order = [label for label, _ in finished]
    kata.expect(
        order == ["sleep1", "sleep2", "sleep3"],
        f"tasks sleeping 3, 1 and 2 s (spawned in that order) finished in the order {order}; "
        "expected ['sleep1', 'sleep2', 'sleep3']: wake the sleeper with the earliest wake-up "
        "time first, whatever the order they were spawned in",
    )
    for (label, at), want in zip(finished, (1.0, 2.0, 3.0), strict=True):
        _expect_at(
            at, want, f"{label} waking", "a task sleeping d seconds from time() t wakes at t + d"
        )
    kata.expect_equal(
        outcome,
        ("main-result", ["slept 3", "slept 1", "slept 2"]),
        what="run(main) (main awaits the three tasks and returns their results)",
        hint="run returns what main returns, and `await task` returns the task's result",
    )
    _expect_at(loop.time(), 3.0, "run(main) returning", "run returns as soon as main is done")


@kata.check(
    "await Sleep(0) lets every other ready task run once: a1 a2 a3 b1 b2 b3",
    group="behaviour",
    hint=2,
)
def test_sleep_zero_interleaves(submission):
    sub = submission
    loop = sub.MiniLoop()
    log: list[str] = []

    async def worker(i: int) -> None:
        log.append(f"a{i}")
        await sub.Sleep(0)
        log.append(f"b{i}")

    async def main() -> None:
        tasks = [loop.spawn(worker(i), name=f"worker{i}") for i in (1, 2, 3)]
        for t in tasks:
            await t

    with _limited(CHECK_REAL_S, "run(main) with three tasks doing a, Sleep(0), b"):
        outcome = _run(sub, loop, main())
    _expect_returned(outcome, "run(main) with three tasks doing a, Sleep(0), b")
    want = ["a1", "a2", "a3", "b1", "b2", "b3"]
    kata.expect(
        log == want,
        f"three tasks each doing log(a), await Sleep(0), log(b) logged {' '.join(log)}; "
        f"expected {' '.join(want)}: ready tasks run in the order they became ready (a FIFO "
        "queue: append on the right, pop on the left), and Sleep(0) sends a task to the back "
        "of that queue"
        + (": is your ready queue a stack (LIFO)?" if log and log[0] != "a1" else ""),
    )
    _expect_at(
        loop.time(),
        0.0,
        "the end of a run that only did Sleep(0)",
        "Sleep(0) does not advance the clock",
    )


def _simulate(plans: list[list[float]]) -> list[tuple[str, float]]:
    """The wake-ups a correct loop produces: (when, order of going to sleep) decides."""
    seq = 0
    heap: list[tuple[float, int, int, int]] = []
    for i, plan in enumerate(plans):  # every task starts, in spawn order, at time 0
        heapq.heappush(heap, (plan[0], seq, i, 0))
        seq += 1
    woke = []
    while heap:
        when, _, i, k = heapq.heappop(heap)
        woke.append((f"t{i}.{k}", when))
        if k + 1 < len(plans[i]):
            heapq.heappush(heap, (when + plans[i][k + 1], seq, i, k + 1))
            seq += 1
    return woke


def _run_plans(sub: Any, plans: list[list[float]]) -> tuple[Any, list[tuple[str, Any]]]:
    """Spawn one task per plan (task i sleeps plan[0], plan[1], ...), log each wake-up."""
    loop = sub.MiniLoop()
    woke: list[tuple[str, Any]] = []

    async def sleeper(i: int, plan: list[float]) -> None:
        for k, d in enumerate(plan):
            await sub.Sleep(d)
            woke.append((f"t{i}.{k}", loop.time()))

    async def main() -> None:
        tasks = [loop.spawn(sleeper(i, p), name=f"t{i}") for i, p in enumerate(plans)]
        for t in tasks:
            await t

    return _run(sub, loop, main()), woke


def _describe_plans(plans: list[list[float]]) -> str:
    return "; ".join(
        f"t{i} sleeps " + ", ".join(f"{d:g}" for d in plan) for i, plan in enumerate(plans)
    )


def _first_difference(got: list[tuple[str, Any]], want: list[tuple[str, float]]) -> str:
    for k, (g, w) in enumerate(zip(got, want, strict=False)):
        if g[0] != w[0] or not _near(g[1], w[1]):
            return (
                f"wake-up #{k + 1} was {g[0]} at time() {_t(g[1])}, expected {w[0]} at {_t(w[1])}"
            )
    return f"{len(got)} wake-ups were logged, expected {len(want)}"


@kata.check(
    "same-instant wake-ups keep the order the tasks went to sleep in", group="behaviour", hint=3
)
def test_same_instant_wakeups_keep_sleep_order(submission):
    # (label, plans): task i sleeps plans[i][0], then plans[i][1], ... (multiples of 1/8)
    scenarios: list[tuple[str, list[list[float]]]] = [
        (
            "staggered first sleeps, all waking at 1.0 (they fell asleep in the reverse of "
            "spawn order)",
            [[0.75, 0.25], [0.5, 0.5], [0.25, 0.75], [0.125, 0.875], [1.0]],
        ),
        ("three tasks sleeping 1.0 twice", [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
        ("tasks meeting at 2.0 from different paths", [[1.0, 1.0], [0.5, 1.5], [2.0], [1.5, 0.5]]),
    ]
    rng = random.Random(27)
    for k in range(20):
        n = rng.randint(4, 8)
        plans = [[rng.randint(1, 6) / 8 for _ in range(rng.randint(1, 3))] for _ in range(n)]
        scenarios.append((f"seeded scenario {k} (seed 27)", plans))
    with _limited(CHECK_REAL_S, "running the same-instant scenarios"):
        for label, plans in scenarios:
            outcome, woke = _run_plans(submission, plans)
            what = f"run(main) with {label} [{_describe_plans(plans)}]"
            _expect_returned(outcome, what)
            want = _simulate(plans)
            kata.expect(
                len(woke) == len(want)
                and all(
                    g[0] == w[0] and _near(g[1], w[1]) for g, w in zip(woke, want, strict=True)
                ),
                f"{what}: {_first_difference(woke, want)}. Tasks waking at the same instant run in "
                "the order they went to sleep (not the order they were spawned in): give every "
                "sleep a sequence number and order sleepers by (wake time, sequence number)",
            )


@kata.check(
    "`await task` returns its result or re-raises its very exception", group="behaviour", hint=4
)
def test_await_task_returns_result_or_raises(submission):
    sub = submission
    loop = sub.MiniLoop()
    value = ("payload", 42)
    boom = KeyError("lost")
    seen: dict[str, Any] = {}

    async def ok() -> tuple[str, int]:
        await sub.Sleep(0.5)
        return value

    async def bad() -> None:
        await sub.Sleep(1.0)
        raise boom

    async def main() -> str:
        t_ok = loop.spawn(ok(), name="ok-task")
        t_bad = loop.spawn(bad())
        seen["name"] = t_ok.name
        seen["default name"] = t_bad.name
        seen["done before"] = t_ok.done()
        try:
            seen["early result"] = t_ok.result()
        except Exception as exc:
            seen["early result"] = exc
        seen["awaited"] = await t_ok
        seen["awaited at"] = loop.time()
        seen["done after"] = t_ok.done()
        seen["awaited again"] = await t_ok
        try:
            await t_bad
        except Exception as exc:
            seen["raised"] = exc
        seen["raised at"] = loop.time()
        return "main-result"

    with _limited(CHECK_REAL_S, "run(main) awaiting a task that returns and one that raises"):
        outcome = _run(sub, loop, main())
    _expect_returned(outcome, "run(main) awaiting a task that returns and one that raises")
    kata.expect_equal(outcome, "main-result", what="run(main)")
    kata.expect_equal(seen.get("name"), "ok-task", what="spawn(coro, name='ok-task').name")
    kata.expect(
        isinstance(seen.get("default name"), str),
        f"spawn(coro) without a name gave the task name {seen.get('default name')!r}; "
        "MiniTask.name is always a str (make one up, e.g. 'MiniTask-2')",
    )
    kata.expect(
        seen.get("done before") is False,
        f"task.done() right after spawn returned {seen.get('done before')!r}; expected False",
    )
    early = seen.get("early result")
    kata.expect(
        type(early) is RuntimeError,
        "task.result() on a task that has not finished "
        + (
            f"raised {type(early).__name__}"
            if isinstance(early, BaseException)
            else f"returned {early!r}"
        )
        + "; it must raise RuntimeError (exactly that type)",
    )
    kata.expect_equal(
        seen.get("awaited"),
        value,
        what="`await task` on a task returning ('payload', 42)",
        hint="MiniTask.__await__ yields until the task is done, then returns task.result()",
    )
    _expect_at(seen.get("awaited at"), 0.5, "`await task` returning (the task slept 0.5 s)")
    kata.expect(seen.get("done after") is True, "task.done() after the task finished was not True")
    kata.expect_equal(
        seen.get("awaited again"), value, what="awaiting a finished task a second time"
    )
    raised = seen.get("raised")
    kata.expect(
        raised is boom,
        "`await task` on a task that raised KeyError('lost') "
        + (
            f"raised {type(raised).__name__}({raised}), not the task's own exception object"
            if isinstance(raised, BaseException)
            else "did not raise"
        )
        + ": keep the exception the coroutine raised on the task and re-raise that very object",
    )
    _expect_at(seen.get("raised at"), 1.0, "`await task` raising (the task failed at 1.0)")


@kata.check(
    "an exception in a task nobody awaits stays on the task; the loop goes on",
    group="behaviour",
    hint=4,
)
def test_unawaited_failure_stays_on_task(submission):
    sub = submission
    loop = sub.MiniLoop()
    boom = ValueError("nobody awaits me")
    tasks: dict[str, Any] = {}
    after: list[Any] = []

    async def failing() -> None:
        await sub.Sleep(1.0)
        raise boom

    async def main() -> str:
        tasks["failing"] = loop.spawn(failing(), name="failing")
        await sub.Sleep(2.0)
        after.append(loop.time())
        return "main-result"

    with _limited(CHECK_REAL_S, "run(main) with a task failing at 1.0 that nobody awaits"):
        outcome = _run(sub, loop, main())
    if isinstance(outcome, _Raised) and outcome.exc is boom:
        kata.fail(
            "run(main) raised the error of a task that main never awaited; an exception in a "
            "task nobody awaits is kept on the task, and the loop goes on"
        )
    _expect_returned(outcome, "run(main) with a task failing at 1.0 that nobody awaits")
    kata.expect_equal(outcome, "main-result", what="run(main)")
    _expect_at(after[0] if after else None, 2.0, "main waking from Sleep(2.0)")
    task = tasks["failing"]
    kata.expect(task.done() is True, "the failed task's done() is not True after run")
    try:
        task.result()
    except (Exception, sub.MiniCancelled) as exc:
        kata.expect(
            exc is boom,
            f"task.result() of the failed task raised {type(exc).__name__}({exc}), not the "
            "task's own ValueError object",
        )
    else:
        kata.fail("task.result() of a task that raised ValueError returned instead of raising it")


# -- timing (real time) ------------------------------------------------------------


@kata.check("nothing waits in real time: the clock jumps", group="timing", hint=3)
def test_no_real_waiting(submission):
    loop, main, _ = _three_sleepers(submission)
    with _limited(CHECK_REAL_S, "run(main) with tasks sleeping 3, 1 and 2 s") as limit:
        outcome = _run(submission, loop, main)
    _expect_returned(outcome, "run(main) with tasks sleeping 3, 1 and 2 s")
    kata.expect(
        limit.elapsed < SMALL_RUN_REAL_S,
        f"run(main) with tasks sleeping 3, 1 and 2 s of loop time took {limit.elapsed:.2f} s "
        f"of real time; it must take under {SMALL_RUN_REAL_S:g} s: when no task is ready, "
        "set the clock to the earliest wake-up and go on (never time.sleep)",
    )
    _expect_at(loop.time(), 3.0, "run(main) returning")


# The check stops the run itself (at 3 s); a longer grader limit keeps that message.
@pytest.mark.timeout(20)
@kata.check(f"{SPEED_N:,} sleepers finish in wake-time order in under 3 s", group="timing", hint=3)
def test_twenty_thousand_sleepers_are_fast(submission):
    sub = submission
    rng = random.Random(2027)
    durations = [x / 8 for x in rng.sample(range(1, 200_001), SPEED_N)]  # distinct wake times
    loop = sub.MiniLoop()
    finished: list[int] = []

    async def sleeper(i: int, d: float) -> None:
        await sub.Sleep(d)
        finished.append(i)

    async def main() -> None:
        tasks = [loop.spawn(sleeper(i, d)) for i, d in enumerate(durations)]
        for t in tasks:
            await t

    what = f"run(main) with {SPEED_N:,} tasks sleeping seeded random durations"
    with _limited(SPEED_REAL_S, what) as limit:
        outcome = _run(sub, loop, main())
    _expect_returned(outcome, what)
    want = sorted(range(SPEED_N), key=durations.__getitem__)
    if finished != want:
        k = next(
            (k for k, (a, b) in enumerate(zip(finished, want, strict=False)) if a != b),
            len(finished),
        )
        if k < min(len(finished), len(want)):
            detail = (
                f"finish #{k + 1} was task {finished[k]} (wakes at {durations[finished[k]]:g}), "
                f"expected task {want[k]} (wakes at {durations[want[k]]:g})"
            )
        else:
            detail = f"{len(finished):,} tasks finished, expected {SPEED_N:,}"
        kata.fail(f"{what}: {detail}; sleepers must wake in wake-time order")
    kata.expect(
        limit.elapsed < SPEED_REAL_S,
        f"{what} took {limit.elapsed:.2f} s of real time; it must take under {SPEED_REAL_S:g} s "
        "(a heap needs about 0.2 s): keep sleepers in a heap (heapq) instead of scanning them all",
    )


@pytest.mark.timeout(20)
@kata.check(
    f"{SPEED_N:,} tasks sleeping twice finish in (wake time, sleep order) order",
    group="timing",
    hint=3,
)
def test_twenty_thousand_sleepers_keep_order(submission):
    sub = submission
    rng = random.Random(1027)
    plans = [[rng.randint(1, 16) / 8, rng.randint(1, 16) / 8] for _ in range(SPEED_N)]
    # Everyone falls asleep first at time 0 in spawn order, the second time in the order of
    # their first wake-ups; equal wake times keep that order.
    first = sorted(range(SPEED_N), key=lambda i: (plans[i][0], i))
    rank = {i: r for r, i in enumerate(first)}
    want = sorted(range(SPEED_N), key=lambda i: (plans[i][0] + plans[i][1], rank[i]))
    loop = sub.MiniLoop()
    finished: list[int] = []

    async def sleeper(i: int, plan: list[float]) -> None:
        await sub.Sleep(plan[0])
        await sub.Sleep(plan[1])
        finished.append(i)

    async def main() -> None:
        tasks = [loop.spawn(sleeper(i, p)) for i, p in enumerate(plans)]
        for t in tasks:
            await t

    what = f"run(main) with {SPEED_N:,} tasks each sleeping twice (multiples of 1/8 s)"
    with _limited(ORDER_AT_SCALE_REAL_S, what):
        outcome = _run(sub, loop, main())
    _expect_returned(outcome, what)
    if finished != want:
        k = next(
            (k for k, (a, b) in enumerate(zip(finished, want, strict=False)) if a != b),
            len(finished),
        )
        if k < min(len(finished), len(want)):
            got_i, want_i = finished[k], want[k]
            detail = (
                f"finish #{k + 1} was task {got_i} (wakes at {sum(plans[got_i]):g}), expected "
                f"task {want_i} (wakes at {sum(plans[want_i]):g}, and fell asleep the second time "
                "earlier than any other task waking then)"
            )
        else:
            detail = f"{len(finished):,} tasks finished, expected {SPEED_N:,}"
        kata.fail(
            f"{what}: {detail}. Equal wake times must keep the order the tasks went to sleep "
            "in: order sleepers by (wake time, a sequence number taken at each Sleep)"
        )
    last = max(a + b for a, b in plans)
    _expect_at(loop.time(), last, f"run(main) returning (the last wake-up is at {last:g})")


# -- cancellation and errors -------------------------------------------------------


@kata.check(
    "cancel() throws MiniCancelled into a sleeping task at once", group="cancellation", hint=5
)
def test_cancel_sleeping_task(submission):
    sub = submission
    kata.expect(
        isinstance(sub.MiniCancelled, type)
        and issubclass(sub.MiniCancelled, BaseException)
        and not issubclass(sub.MiniCancelled, Exception),
        "MiniCancelled must subclass BaseException directly (like asyncio.CancelledError), so "
        "that `except Exception:` in a task does not swallow a cancellation",
    )
    loop = sub.MiniLoop()
    events: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    async def victim() -> str:
        try:
            await sub.Sleep(3.0)
            events["woke"] = loop.time()
            return "victim finished"
        except sub.MiniCancelled:
            events["MiniCancelled"] = loop.time()
            raise
        finally:
            events["finally"] = loop.time()

    async def sibling(d: float) -> str:
        await sub.Sleep(d)
        events[f"sibling{d:g}"] = loop.time()
        return f"sibling{d:g}"

    # The test keeps the coroutine alive, so garbage collection cannot run its finally.
    victim_coro = victim()

    async def main() -> str:
        v = loop.spawn(victim_coro, name="victim")
        s1 = loop.spawn(sibling(1.0), name="sibling1")
        s2 = loop.spawn(sibling(2.0), name="sibling2")
        await sub.Sleep(1.5)
        seen["cancel"] = v.cancel()
        try:
            await v
        except sub.MiniCancelled:
            seen["await raised"] = loop.time()
        except Exception as exc:
            seen["await raised other"] = exc
        else:
            seen["await returned"] = True
        seen["done"] = v.done()
        seen["s1"] = await s1
        seen["s2"] = await s2
        seen["cancel finished"] = s1.cancel()
        return "main-result"

    try:
        with _limited(CHECK_REAL_S, "run(main) cancelling a sleeping task at 1.5"):
            outcome = _run(sub, loop, main())
        _judge_cancel(outcome, events, seen)
    finally:
        victim_coro.close()  # only now: its finally must have run during run(), not here


def _judge_cancel(outcome: Any, events: dict[str, Any], seen: dict[str, Any]) -> None:
    _expect_returned(outcome, "run(main) cancelling a sleeping task at 1.5")
    kata.expect(
        seen.get("cancel") is True,
        f"cancel() on a sleeping task returned {seen.get('cancel')!r}; expected True",
    )
    kata.expect(
        "woke" not in events,
        "the task sleeping 3.0 s and cancelled at 1.5 woke up normally at "
        f"{_t(events.get('woke'))}: cancel() must throw MiniCancelled into it",
    )
    if "MiniCancelled" not in events:
        kata.fail(
            "a sleeping task cancelled at 1.5 never saw MiniCancelled raised at its "
            "`await Sleep(3.0)`"
            + (
                " and its `finally` never ran: cancel() must resume the coroutine with "
                "coro.throw(MiniCancelled()), not just drop the task"
                if "finally" not in events
                else ""
            )
        )
    _expect_at(
        events.get("MiniCancelled"),
        1.5,
        "the cancelled task seeing MiniCancelled",
        "cancel() makes a sleeping task ready at once (it does not wait for its wake-up time)",
    )
    _expect_at(events.get("finally"), 1.5, "the cancelled task's finally block")
    if "await returned" in seen:
        kata.fail("`await task` on a cancelled task returned; it must raise MiniCancelled")
    if "await raised other" in seen:
        other = seen["await raised other"]
        kata.fail(
            f"`await task` on a cancelled task raised {type(other).__name__}({other}); "
            "expected MiniCancelled"
        )
    _expect_at(seen.get("await raised"), 1.5, "`await task` raising MiniCancelled")
    kata.expect(seen.get("done") is True, "a cancelled task's done() is not True once it ended")
    kata.expect(
        seen.get("s1") == "sibling1" and seen.get("s2") == "sibling2",
        f"the siblings of the cancelled task returned {seen.get('s1')!r} and "
        f"{seen.get('s2')!r}; cancelling one task must not affect the others",
    )
    _expect_at(events.get("sibling1"), 1.0, "the 1.0 s sibling waking")
    _expect_at(events.get("sibling2"), 2.0, "the 2.0 s sibling waking")
    kata.expect(
        seen.get("cancel finished") is False,
        f"cancel() on a task that already finished returned {seen.get('cancel finished')!r}; "
        "expected False",
    )
    kata.expect_equal(outcome, "main-result", what="run(main)")


@kata.check(
    "run returns or raises main's outcome after cancelling every task left",
    group="cancellation",
    hint=6,
)
def test_run_cancels_what_is_left(submission):
    for case in ("returns", "raises"):
        _leftovers_case(submission, raise_it=case == "raises")


def _leftovers_case(sub: Any, *, raise_it: bool) -> None:
    """main spawns three sleepers, sleeps 1.0, then returns or raises."""
    loop = sub.MiniLoop()
    log: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    boom = LookupError("main failed")

    async def sleeper(label: str, d: float) -> None:
        try:
            await sub.Sleep(d)
            log[f"{label} woke"] = loop.time()
        except sub.MiniCancelled:
            log[f"{label} saw MiniCancelled"] = loop.time()
            raise
        finally:
            log[f"{label} finally"] = loop.time()

    async def slow_cleanup() -> None:
        try:
            await sub.Sleep(30.0)
        except sub.MiniCancelled:
            await sub.Sleep(0.5)  # cleanup that itself awaits
            log["slow cleanup done"] = True
            raise

    # The test keeps the coroutines alive, so garbage collection cannot run their cleanup.
    kept = [sleeper("long10", 10.0), sleeper("long20", 20.0), slow_cleanup()]

    async def main() -> str:
        for name, coro in zip(("long10", "long20", "slow"), kept, strict=True):
            tasks[name] = loop.spawn(coro, name=name)
        await sub.Sleep(1.0)
        if raise_it:
            raise boom
        return "main-result"

    what = f"run(main) where main {'raises' if raise_it else 'returns'} at 1.0 while 3 tasks sleep"
    try:
        with _limited(CHECK_REAL_S, what):
            outcome = _run(sub, loop, main())
        _judge_leftovers(raise_it, what, outcome, boom, log, tasks)
    finally:
        for coro in kept:  # only now: their cleanup must have run during run(), not here
            coro.close()


def _judge_leftovers(
    raise_it: bool,
    what: str,
    outcome: Any,
    boom: BaseException,
    log: dict[str, Any],
    tasks: dict[str, Any],
) -> None:
    if not raise_it:
        _expect_returned(outcome, what)
        kata.expect_equal(outcome, "main-result", what=what)
    else:
        kata.expect(
            isinstance(outcome, _Raised) and outcome.exc is boom,
            f"{what} "
            + (
                f"returned {outcome!r}"
                if not isinstance(outcome, _Raised)
                else f"raised {type(outcome.exc).__name__}({outcome.exc})"
            )
            + "; it must raise main's own LookupError object",
        )
    for label in ("long10", "long20"):
        kata.expect(
            f"{label} woke" not in log,
            f"{what}: the task sleeping {label[4:]} s woke up normally at "
            f"{_t(log.get(f'{label} woke'))} instead of being cancelled when main ended",
        )
        kata.expect(
            f"{label} saw MiniCancelled" in log and f"{label} finally" in log,
            f"{what}: a task still sleeping when main ended "
            + (
                "never saw MiniCancelled"
                if f"{label} saw MiniCancelled" not in log
                else "saw MiniCancelled but its finally never ran"
            )
            + " before run returned: cancel every unfinished task (throw MiniCancelled "
            "into it) and keep stepping them until they are done",
        )
        kata.expect(
            tasks[label].done() is True,
            f"{what}: the cancelled task {label!r} is not done() after run",
        )
    kata.expect(
        log.get("slow cleanup done") is True,
        f"{what}: a task whose cleanup does `await Sleep(0.5)` never finished its cleanup "
        "before run returned: drive the cancelled tasks to completion (keep running the "
        "loop, clock included, until every one of them is done)",
    )


@kata.check("calling run while it runs raises RuntimeError", group="cancellation", hint=6)
def test_nested_run_is_refused(submission):
    sub = submission
    loop = sub.MiniLoop()
    seen: dict[str, Any] = {}

    async def inner() -> str:
        return "inner"

    inner_coro = inner()

    async def main() -> str:
        try:
            seen["nested"] = loop.run(inner_coro)
        except Exception as exc:
            seen["nested"] = exc
        await sub.Sleep(1.0)
        return "outer"

    try:
        with _limited(CHECK_REAL_S, "a nested run inside main"):
            outcome = _run(sub, loop, main())
    finally:
        inner_coro.close()  # closing the refused coroutine is the learner's choice
    nested = seen.get("nested")
    if "nested" not in seen:
        kata.fail("main never got past its nested loop.run(...) call")
    kata.expect(
        type(nested) is RuntimeError,
        "loop.run(coro) called from a task while the loop runs "
        + (
            f"raised {type(nested).__name__}({nested})"
            if isinstance(nested, BaseException)
            else f"returned {nested!r}"
        )
        + "; it must raise RuntimeError (exactly that type) before touching anything",
    )
    _expect_returned(outcome, "the outer run(main) after a refused nested run")
    kata.expect_equal(outcome, "outer", what="the outer run(main) after a refused nested run")
    _expect_at(loop.time(), 1.0, "the outer run returning")


@kata.check(
    "a run that can never finish raises RuntimeError (deadlock)", group="cancellation", hint=6
)
def test_deadlock_is_reported(submission):
    sub = submission
    loop = sub.MiniLoop()
    tasks: dict[str, Any] = {}

    async def waits_on(other: str) -> str:
        await sub.Sleep(0)  # both tasks exist by now, even if spawn starts a task at once
        return await tasks[other]

    async def main() -> str:
        tasks["a"] = loop.spawn(waits_on("b"), name="a")
        tasks["b"] = loop.spawn(waits_on("a"), name="b")
        return await tasks["a"]

    what = "run(main) where main awaits task a, a awaits b and b awaits a"
    with _limited(CHECK_REAL_S, what):
        outcome = _run(sub, loop, main())
    kata.expect(
        isinstance(outcome, _Raised) and type(outcome.exc) is RuntimeError,
        f"{what} "
        + (
            f"raised {type(outcome.exc).__name__}({outcome.exc})"
            if isinstance(outcome, _Raised)
            else f"returned {outcome!r}"
        )
        + "; when no task is ready and none sleeps but main is not done, nothing can ever "
        "happen again: raise RuntimeError (exactly that type) instead of hanging",
    )


class AlienAwaitable:
    """Something a MiniLoop cannot know: it yields itself, like an asyncio future."""

    def __await__(self) -> Any:
        yield self

    def __repr__(self) -> str:
        return "<AlienAwaitable from another library>"


@kata.check(
    "awaiting something the loop does not understand fails that task with TypeError",
    group="cancellation",
    hint=6,
)
def test_unsupported_awaitable_fails_its_task(submission):
    aio = asyncio.new_event_loop()  # only to make a Future; it never runs
    try:
        _stranger_case(
            submission,
            "an AlienAwaitable",
            AlienAwaitable(),
            lambda m: "alienawaitable" in m.lower(),
        )
        _stranger_case(
            submission, "an asyncio.Future", aio.create_future(), lambda m: "future" in m.lower()
        )
    finally:
        aio.close()


def _stranger_case(sub: Any, label: str, thing: Any, names_it: Callable[[str], bool]) -> None:
    loop = sub.MiniLoop()
    seen: dict[str, Any] = {}

    async def confused() -> str:
        await thing
        return "awaited it"

    async def bystander() -> str:
        await sub.Sleep(1.0)
        return "fine"

    async def main() -> str:
        t = loop.spawn(confused(), name="confused")
        b = loop.spawn(bystander(), name="bystander")
        try:
            seen["awaited"] = await t
        except Exception as exc:
            seen["awaited"] = exc
        seen["bystander"] = await b
        return "main-result"

    what = f"run(main) where a task awaits {label}"
    with _limited(CHECK_REAL_S, what):
        outcome = _run(sub, loop, main())
    if isinstance(outcome, _Raised) and isinstance(outcome.exc, TypeError):
        kata.fail(
            f"{what} raised TypeError out of run: only the task that awaited it fails "
            "(keep the TypeError on that task, or throw it into its coroutine); the loop goes on"
        )
    _expect_returned(outcome, what)
    got = seen.get("awaited")
    kata.expect(
        isinstance(got, TypeError),
        f"{what}: awaiting that task "
        + (
            f"raised {type(got).__name__}({got})"
            if isinstance(got, BaseException)
            else f"returned {got!r}"
        )
        + "; the task must fail with TypeError",
    )
    kata.expect(
        names_it(str(got)),
        f"{what}: the TypeError says {str(got)!r}; name the object the loop did not "
        f"understand (e.g. include its repr: {thing!r})",
    )
    kata.expect_equal(seen.get("bystander"), "fine", what=f"{what}: another task sleeping 1.0 s")
