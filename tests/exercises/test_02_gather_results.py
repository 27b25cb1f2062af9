"""Hidden suite for exercise 02: fetch_all and fetch_all_settled.

Every check is on the virtual clock. ``fetch`` is a fake whose every call is
a probe run: it records when it started, ended, saw a cancellation and ran
its ``finally``, then returns its key's value or raises its key's exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from grader import kata
from grader.kata import strategies as st

ALL = "fetch_all"
SETTLED = "fetch_all_settled"


def _fake(
    probes: kata.Probes, table: dict[str, tuple[float, Any]]
) -> tuple[Callable[[str], Awaitable[Any]], list[str]]:
    """A fetch that sleeps its key's delay, then returns (or raises) its key's outcome."""
    calls: list[str] = []

    async def fetch(key: str) -> Any:
        calls.append(key)
        delay, outcome = table[key]
        n = calls.count(key)
        async with probes.span(f"fetch({key!r})" + (f"#{n}" if n > 1 else "")):
            await asyncio.sleep(delay)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

    return fetch, calls


def _table(delays: dict[str, float]) -> dict[str, tuple[float, Any]]:
    return {key: (delay, f"value-{key}") for key, delay in delays.items()}


def _call(fn: str, keys: list[str], delays: dict[str, float], *, iterator: bool = False) -> str:
    shown = f"iter({keys!r})" if iterator else repr(keys)
    return (
        f"{fn}(fetch, {shown}) with fetches of " + ", ".join(f"{delays[k]:g}" for k in keys) + " s"
    )


def _expect_results(got: Any, expected: list[Any], *, what: str, hint: str) -> None:
    if not isinstance(got, list):
        kata.fail(
            f"{what} returned {got!r}, a {type(got).__name__}; expected the list {expected!r}"
        )
    kata.expect_equal(got, expected, what=what, hint=hint)


# -- behaviour -----------------------------------------------------------------


async def _check_input_order(submission: Any, probes: kata.Probes, fn: str) -> None:
    delays = {"slow": 3.0, "fast": 1.0, "mid": 2.0}
    keys = ["slow", "fast", "mid"]
    fetch, _ = _fake(probes, _table(delays))
    got = await getattr(submission, fn)(fetch, list(keys))
    _expect_results(
        got,
        [f"value-{k}" for k in keys],
        what=_call(fn, keys, delays),
        hint="keep each result at its key's position, not in the order the fetches finish "
        "(gather returns results in the order of its arguments)",
    )


@kata.check("fetch_all returns results in input order", group="behaviour", hint=1)
async def test_fetch_all_keeps_input_order(submission, probes):
    await _check_input_order(submission, probes, ALL)


@kata.check("fetch_all_settled returns results in input order", group="behaviour", hint=1)
async def test_settled_keeps_input_order(submission, probes):
    await _check_input_order(submission, probes, SETTLED)


@kata.check("no keys give [] at once", group="behaviour", hint=2)
async def test_empty_keys(submission, probes):
    for fn in (ALL, SETTLED):
        fetch, calls = _fake(probes, {})
        t0 = kata.now()
        got = await getattr(submission, fn)(fetch, [])
        _expect_results(got, [], what=f"{fn}(fetch, [])", hint="no keys, no results")
        kata.expect_time(
            t0,
            0.0,
            what=f"{fn}(fetch, [])",
            hint="with nothing to fetch there is nothing to wait for",
        )
        kata.expect(not calls, f"{fn}(fetch, []) called fetch for {calls!r}")


@kata.check("a duplicate key is fetched twice (keys may be an iterator)", group="behaviour", hint=2)
async def test_duplicate_keys_are_fetched_twice(submission, probes):
    delays = {"a": 1.0, "b": 0.5}
    keys = ["a", "b", "a"]
    for fn in (ALL, SETTLED):
        fetch, calls = _fake(probes, _table(delays))
        got = await getattr(submission, fn)(fetch, iter(keys))
        _expect_results(
            got,
            ["value-a", "value-b", "value-a"],
            what=_call(fn, keys, delays, iterator=True),
            hint="one slot per key, duplicates included, in input order; go through `keys` "
            "only once (it may be a one-pass iterator), e.g. `[fetch(k) for k in keys]`",
        )
        kata.expect(
            sorted(calls) == ["a", "a", "b"],
            f"{_call(fn, keys, delays, iterator=True)} called fetch for {calls!r}; key 'a' "
            "appears twice, so it must be fetched twice (don't de-duplicate the keys or reuse "
            "a result)",
        )


# -- timing --------------------------------------------------------------------

_CONCURRENT = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 0.5, "e": 1.0}


async def _check_concurrent(submission: Any, probes: kata.Probes, fn: str) -> None:
    keys = list(_CONCURRENT)
    fetch, _ = _fake(probes, _table(_CONCURRENT))
    t0 = kata.now()
    await getattr(submission, fn)(fetch, keys)
    kata.expect_time(
        t0,
        3.0,
        what=_call(fn, keys, _CONCURRENT),
        hint="run every fetch at once and it takes as long as the slowest (3.0 s); awaiting "
        "them one after the other takes the sum (7.5 s). Hand them all to asyncio.gather",
        too_fast="it cannot finish before the slowest fetch (3.0 s)",
    )


@kata.check("fetch_all runs the fetches concurrently", group="timing", hint=1)
async def test_fetch_all_runs_concurrently(submission, probes):
    await _check_concurrent(submission, probes, ALL)


@kata.check("fetch_all_settled runs the fetches concurrently", group="timing", hint=1)
async def test_settled_runs_concurrently(submission, probes):
    await _check_concurrent(submission, probes, SETTLED)


# -- errors and cancellation ---------------------------------------------------

_FAILING = {"a": 1.0, "b": 0.5, "c": 3.0}


def _failing_table(boom: BaseException) -> dict[str, tuple[float, Any]]:
    table = _table(_FAILING)
    table["b"] = (_FAILING["b"], boom)
    return table


# gather leaves the sibling fetches running after the first failure (allowed):
# the leak gate looks once they are done (exercise 08 revisits this).
@kata.leak_gate_at(5)
@kata.check("fetch_all re-raises the very exception at once", group="cancellation", hint=3)
async def test_fetch_all_reraises_the_first_error(submission, probes):
    boom = KeyError("b")
    fetch, _ = _fake(probes, _failing_table(boom))
    keys = list(_FAILING)
    call = f"{ALL}(fetch, {keys!r}) where fetch('b') raises KeyError('b') at t=0.5 s"
    t0 = kata.now()
    try:
        got = await submission.fetch_all(fetch, keys)
    except KeyError as exc:
        kata.expect(
            exc is boom,
            f"{call} raised {exc!r}, another KeyError object: re-raise the very exception "
            "the fetch raised, don't build a new one",
        )
    except Exception as exc:
        if isinstance(exc, BaseExceptionGroup) and any(e is boom for e in exc.exceptions):
            kata.fail(
                f"{call} raised {type(exc).__name__} {exc!r} wrapping the KeyError; it must "
                "raise the KeyError itself: unwrap it (`raise group.exceptions[0]`) or use gather"
            )
        kata.fail(f"{call} raised {type(exc).__name__}: {exc!r}; expected the fetch's KeyError")
    else:
        kata.fail(f"{call} returned {got!r}; it must re-raise the fetch's KeyError")
    kata.expect_time(
        t0,
        0.5,
        what=f"{call}, until the KeyError reached the caller",
        hint="with every fetch running at once the failure happens at t=0.5 s: let it out "
        "then. Awaiting the fetches one by one reaches it late, and collecting every outcome "
        "first (return_exceptions=True, then raising) waits for the slowest fetch",
        too_fast="the KeyError only happens at t=0.5 s",
    )


@kata.leak_gate_at(5)
@kata.check("fetch_all_settled puts the exception in its slot", group="cancellation", hint=4)
async def test_settled_puts_errors_in_their_slots(submission, probes):
    boom = KeyError("b")
    fetch, _ = _fake(probes, _failing_table(boom))
    keys = list(_FAILING)
    call = f"{SETTLED}(fetch, {keys!r}) where fetch('b') raises KeyError('b') at t=0.5 s"
    t0 = kata.now()
    try:
        got = await submission.fetch_all_settled(fetch, keys)
    except Exception as exc:
        kata.fail(
            f"{call} raised {type(exc).__name__}: {exc!r}; it must return the exception in its "
            "slot instead (gather(..., return_exceptions=True))"
        )
    _expect_results(
        got,
        ["value-a", boom, "value-c"],
        what=call,
        hint="the very exception object goes in its key's slot, the other slots keep their "
        "values, in input order",
    )
    kata.expect_time(
        t0,
        3.0,
        what=call,
        hint="every fetch runs at once, so it takes as long as the slowest (3.0 s)",
        too_fast="it must wait for every fetch, the slowest takes 3.0 s",
    )


async def _check_caller_cancel(submission: Any, fn: str) -> None:
    probes = kata.Probes()
    delays = {"a": 1.0, "b": 2.0, "c": 0.5, "d": 3.0}
    keys = list(delays)
    fetch, _ = _fake(probes, _table(delays))
    what = f"{_call(fn, keys, delays)}, cancelled at t=0.7 s"
    t0 = kata.now()
    call = asyncio.ensure_future(getattr(submission, fn)(fetch, keys))
    await asyncio.sleep(0.7)
    call.cancel()
    try:
        got = await call
    except asyncio.CancelledError:
        pass
    else:
        swallowed = isinstance(got, list) and any(
            isinstance(x, asyncio.CancelledError) for x in got
        )
        kata.fail(
            f"{what}, returned {got!r} at t={kata.now() - t0:g} s instead of raising "
            "CancelledError: the cancellation must propagate"
            + (
                ". A CancelledError ended up in the list: catching BaseException (or "
                "CancelledError) turns the cancel into a value; catch Exception only"
                if swallowed
                else " (don't catch it, or re-raise it)"
            )
        )
    kata.expect_time(
        t0,
        0.7,
        what=f"{what}, until the CancelledError reached the caller",
        hint="the cancellation must end the call at once",
        exact=True,
    )
    cancelled_at = kata.now()
    await asyncio.sleep(5)  # anything still running shows up now
    late = [
        r.name for r in probes.records if r.finally_at is None or r.finally_at > cancelled_at + 1e-9
    ]
    kata.expect(
        not late,
        f"{what}: fetches {late} were still running after t=0.7 s (or cleaned up later); "
        "every running fetch must be cancelled, its cleanup done, when the caller is "
        "cancelled (gather does this; tasks you created yourself you must cancel)",
    )
    survived = [r.name for r in probes.records if r.ended is not None and r.ended > cancelled_at]
    kata.expect(not survived, f"{what}: fetches {survived} went on and finished after the cancel")


@kata.check(
    "cancelling the caller cancels every fetch and propagates", group="cancellation", hint=5
)
async def test_cancelling_the_caller_cancels_every_fetch(submission):
    await _check_caller_cancel(submission, SETTLED)
    await _check_caller_cancel(submission, ALL)


# -- the cancellation sweep and the property -------------------------------------


class _Witness:
    """What the fake fetches saw happen after their caller was cancelled.

    A cancel of the caller's task raises its ``cancelling()`` count at once, so
    each fetch can tell, when it starts, ends, fails or is cancelled, whether the
    caller had already been cancelled. In a correct solution all of that happens
    at the very instant of the cancel; anything at a later instant is a fetch left
    running (or started) after the cancel, or a cancellation that reached the
    caller late.
    """

    def __init__(self) -> None:
        self.caller = asyncio.current_task()
        self.t0 = kata.now()
        self.after: list[tuple[float, str]] = []
        self.caught_at: float | None = None

    def note(self, what: str) -> None:
        if self.caller is not None and self.caller.cancelling():
            self.after.append((kata.now(), what))

    def fetch(
        self, probes: kata.Probes, table: dict[str, tuple[float, Any]]
    ) -> Callable[[str], Awaitable[Any]]:
        counts: dict[str, int] = {}

        async def fetch(key: str) -> Any:
            delay, outcome = table[key]
            counts[key] = n = counts.get(key, 0) + 1
            name = f"fetch({key!r})" + (f"#{n}" if n > 1 else "")
            self.note(f"{name} started")
            async with probes.span(name):
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    self.note(f"{name} was cancelled")
                    raise
                if isinstance(outcome, BaseException):
                    self.note(f"{name} raised {outcome!r}")
                    raise outcome
                self.note(f"{name} finished")
                return outcome

        return fetch

    def problem(self) -> str | None:
        seen = [t for t, _ in self.after]
        if self.caught_at is not None:
            seen.append(self.caught_at)
        if not seen:
            return None
        first = min(seen)
        late = [(t, what) for t, what in self.after if t > first + 1e-9]
        if late:
            t, what = late[0]
            return (
                f"the caller was cancelled by t={first - self.t0:g} s, but {what} at "
                f"t={t - self.t0:g} s: when the caller is cancelled, every running fetch "
                "must be cancelled at that very moment (none may go on, or start)"
            )
        if self.caught_at is not None and self.caught_at > first + 1e-9:
            return (
                f"the caller was cancelled by t={first - self.t0:g} s, but the CancelledError "
                f"only reached it at t={self.caught_at - self.t0:g} s: it must propagate at once"
            )
        return None


@kata.check(
    "cancellation sweep: a cancel at any instant cancels every fetch and propagates",
    group="cancellation",
    hint=5,
)
async def test_cancellation_sweep(submission, probes):
    witnesses: dict[int, _Witness] = {}

    async def scenario(runs: kata.Probes) -> None:
        witnesses[id(runs)] = w = _Witness()
        table = _table({"a": 1.0, "c": 2.0, "d": 0.25, "e": 0.75, "f": 1.5})
        table["b"] = (0.5, KeyError("b"))
        fetch = w.fetch(runs, table)
        try:
            await submission.fetch_all_settled(fetch, ["a", "b", "c", "d"])
            await submission.fetch_all(fetch, ["e", "f", "a"])
        except asyncio.CancelledError:
            w.caught_at = kata.now()
            raise

    def every_fetch_cancelled_at_once(runs: kata.Probes) -> str | None:
        return witnesses[id(runs)].problem()

    await kata.sweep(
        scenario,
        what="fetch_all_settled(fetch, ['a', 'b', 'c', 'd']) (b raising KeyError at 0.5 s), "
        "then fetch_all(fetch, ['e', 'f', 'a'])",
        invariant=every_fetch_cancelled_at_once,
        record=probes,
    )


def _exactly(got: Any, expected: list[Any]) -> bool:
    """Exact type and value per slot; exceptions by identity."""
    if type(got) is not list or len(got) != len(expected):
        return False
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, BaseException):
            if g is not e:
                return False
        elif type(g) is not type(e) or g != e:
            return False
    return True


@kata.check(
    "any keys: one slot per key in input order, every fetch at once (property, 60 scenarios)",
    group="timing",
    hint=1,
)
def test_property_every_fetch_at_once(submission):

    letters = "abcde"
    scenarios = st.tuples(
        st.lists(st.sampled_from(letters), max_size=8),  # keys, duplicates included
        st.lists(st.integers(1, 8), min_size=5, max_size=5),  # each letter's delay, in 1/4 s
        st.none() | st.integers(0, 7),  # which key that appears once fails, if any
    )

    async def check(scenario: tuple[list[str], list[int], int | None]) -> str | None:
        keys, quarters, pick = scenario
        delays = {k: q / 4 for k, q in zip(letters, quarters, strict=True)}
        once = [k for k in letters if keys.count(k) == 1]
        failing = once[pick % len(once)] if pick is not None and once else None
        boom = KeyError(failing)
        table = {k: (delays[k], boom if k == failing else f"value-{k}") for k in letters}
        shown = (
            f"(fetch, {keys!r}) with delays "
            + ", ".join(f"{k}={delays[k]:g} s" for k in sorted(set(keys)))
            + (f", fetch({failing!r}) raising KeyError" if failing else "")
        )
        expected = [table[k][1] for k in keys]
        slowest = max((delays[k] for k in keys), default=0.0)

        def timing(fn: str, t0: float, runs: kata.Probes, took: float, want: float) -> str | None:
            late = [r.name for r in runs.records if r.started is not None and r.started > t0 + 1e-9]
            if late:
                return (
                    f"{fn}{shown}: fetches {late} started after the call began; every fetch "
                    "must start at once (no batches, no limit)"
                )
            if not want - kata.T_LOW <= took <= want + kata.T_HIGH:
                return f"{fn}{shown} took {took:g} s of loop time; expected {want:g} s" + (
                    " (the slowest fetch)" if fn == SETTLED or not failing else ""
                )
            return None

        runs = kata.Probes()
        fetch, calls = _fake(runs, table)
        t0 = kata.now()
        got = await submission.fetch_all_settled(fetch, list(keys))
        took = kata.now() - t0
        if not _exactly(got, expected):
            return f"{SETTLED}{shown} returned {got!r}; expected {expected!r} (input order)"
        if sorted(calls) != sorted(keys):
            return f"{SETTLED}{shown} fetched {sorted(calls)!r}; expected one fetch per key"
        if problem := timing(SETTLED, t0, runs, took, slowest):
            return problem

        runs = kata.Probes()
        fetch, calls = _fake(runs, table)
        t0 = kata.now()
        try:
            got = await submission.fetch_all(fetch, list(keys))
        except KeyError as exc:
            took = kata.now() - t0
            if exc is not boom or failing is None:
                return f"{ALL}{shown} raised {exc!r}; expected " + (
                    f"the very KeyError fetch({failing!r}) raised" if failing else "a list"
                )
            return timing(ALL, t0, runs, took, delays[failing])
        took = kata.now() - t0
        if failing is not None:
            return f"{ALL}{shown} returned {got!r}; it must re-raise the KeyError"
        if not _exactly(got, expected):
            return f"{ALL}{shown} returned {got!r}; expected {expected!r} (input order)"
        return timing(ALL, t0, runs, took, slowest)

    kata.forall(scenarios, check, what="fetch_all_settled and fetch_all", examples=60)
