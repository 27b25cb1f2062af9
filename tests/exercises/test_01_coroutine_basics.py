"""Hidden suite for exercise 01: coroutine basics.

The async checks run on the virtual clock, where loop time is exact. The one
check that really runs ``greet_sync`` is ``@realtime``: ``asyncio.run`` makes
its own loop, on the real clock (CURRICULUM.md section 2).
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Coroutine
from typing import Any

from grader import kata

EXACT = 1e-5
_NOTHING: Any = object()


async def _dispose(obj: object) -> None:
    """Tidy up whatever a wrong answer handed back, so only its real mistake is reported."""
    if isinstance(obj, Coroutine):
        obj.close()
    elif isinstance(obj, asyncio.Future):
        obj.cancel()
        await asyncio.wait([obj])


def _fmt(values: list[float]) -> str:
    shown = ", ".join(f"{v:.6g}" for v in values[:10])
    return f"[{shown}{', ...' if len(values) > 10 else ''}]"


def _relative(stamps: object, t0: float) -> list[float] | None:
    if not isinstance(stamps, list) or not all(
        isinstance(s, int | float) and not isinstance(s, bool) for s in stamps
    ):
        return None
    return [s - t0 for s in stamps]


def _same_stamps(got: list[float], expected: list[float]) -> bool:
    return len(got) == len(expected) and all(
        abs(g - e) <= EXACT for g, e in zip(got, expected, strict=True)
    )


def _stamp_diagnosis(got: list[float], expected: list[float]) -> str:
    if len(got) > 1 and max(got) - min(got) <= EXACT:
        return (
            "every stamp was taken at the same loop time: loop time did not move between "
            "beats. Wait with `await asyncio.sleep(interval)`; time.sleep blocks the loop "
            "and the loop's clock does not see it"
        )
    if got and abs(got[0]) <= EXACT:
        return "the first stamp was taken at the start: wait one interval before each stamp"
    if len(got) != len(expected):
        return f"expected {len(expected)} stamps, one per beat, but got {len(got)}"
    worst = max(abs(g - e) for g, e in zip(got, expected, strict=True))
    if worst < 0.05:
        return (
            f"some stamps are off by up to {worst * 1000:.3g} ms: are you polling the "
            "clock in small steps? Sleep exactly one interval per beat"
        )
    return "each beat waits one interval (await asyncio.sleep(interval)), then appends loop.time()"


# -- behaviour -----------------------------------------------------------------


@kata.check(
    'greet returns "Hello, <name>!" and counts each call in CALLS', group="behaviour", hint=1
)
async def test_greet_returns_the_greeting(submission):
    before = submission.CALLS
    task = asyncio.ensure_future(submission.greet("Ada", 1.0))
    await asyncio.sleep(0)  # one loop tick: the task's body has started
    started = submission.CALLS
    got = await task
    kata.expect_equal(
        got,
        "Hello, Ada!",
        what='greet("Ada", 1.0)',
        hint='build the string with an f-string: f"Hello, {name}!"',
    )
    kata.expect(
        started == before + 1,
        f'CALLS was {before!r} before greet("Ada", 1.0) ran and {started!r} once its body had '
        "started (the task had run one step and was waiting): it must go up by 1 as soon as "
        "greet's body starts, before the wait. Use `global CALLS` and `CALLS += 1` at the top "
        "of greet",
    )
    second = await submission.greet("Bob")
    kata.expect_equal(second, "Hello, Bob!", what='greet("Bob")')
    kata.expect(
        submission.CALLS == before + 2,
        f"after greet ran twice CALLS is {submission.CALLS!r}; expected {before + 2!r} "
        "(one per call of greet)",
    )


@kata.check("make_greeting returns a coroutine that has not started", group="behaviour", hint=2)
async def test_make_greeting_returns_an_unstarted_coroutine(submission):
    before = submission.CALLS
    made = submission.make_greeting("Ada", 0.5)
    await asyncio.sleep(0)  # one loop tick: a scheduled Task would have started by now
    after_tick = submission.CALLS
    if not isinstance(made, Coroutine):
        await _dispose(made)
        if isinstance(made, asyncio.Future):
            kata.fail(
                f'make_greeting("Ada", 0.5) returned a {type(made).__name__}, not a coroutine: '
                "create_task/ensure_future schedule the coroutine, and it starts running on the "
                "next loop tick on its own (CALLS went from "
                f"{before!r} to {after_tick!r}). Return the coroutine object itself: "
                "`return greet(name, delay)`"
            )
        kata.fail(
            f'make_greeting("Ada", 0.5) returned {made!r} ({type(made).__name__}); expected a '
            "coroutine object, what calling a coroutine function gives: `return greet(name, delay)`"
        )
    if after_tick != before:
        await _dispose(made)
        kata.fail(
            f'after make_greeting("Ada", 0.5) and one loop tick, CALLS went from {before!r} to '
            f"{after_tick!r}: greet's body already ran although nobody awaited the coroutine. "
            "make_greeting must not start anything (no create_task/ensure_future)"
        )
    got = await made
    kata.expect_equal(
        got,
        "Hello, Ada!",
        what='awaiting the coroutine from make_greeting("Ada", 0.5)',
        hint="awaiting it must run greet and give its greeting",
    )


@kata.check(
    "two heartbeats under gather stamp 0.3, 0.5, 0.6, 0.9, 1.0 s", group="behaviour", hint=3
)
async def test_heartbeat_stamps(submission):
    stamps: list[float] = []
    t0 = kata.now()
    await asyncio.gather(submission.heartbeat(3, 0.3, stamps), submission.heartbeat(2, 0.5, stamps))
    expected = [0.3, 0.5, 0.6, 0.9, 1.0]
    got = _relative(stamps, t0)
    if got is None:
        kata.fail(
            f"heartbeat put {stamps!r} in the list; each stamp must be the loop's time, "
            "a float: asyncio.get_running_loop().time()"
        )
    kata.expect(
        _same_stamps(got, expected),
        f"heartbeat(3, 0.3, stamps) and heartbeat(2, 0.5, stamps), run together with gather "
        f"on one list, stamped at {_fmt(got)} s (loop time since the start); expected exactly "
        f"{_fmt(expected)} s: {_stamp_diagnosis(got, expected)}",
    )


@kata.realtime
@kata.check("greet_sync returns the greeting as a str (real clock)", group="behaviour", hint=4)
def test_greet_sync_returns_a_str(submission):
    before = submission.CALLS
    t0 = time.perf_counter()
    got = submission.greet_sync("Ada", 0.05)
    took = time.perf_counter() - t0
    if isinstance(got, Coroutine):
        got.close()
        kata.fail(
            'greet_sync("Ada", 0.05) returned a coroutine object, not a str: synchronous code '
            "cannot await it, and dropping it un-awaited only gives a warning. Run it to the end "
            "with asyncio.run(greet(name, delay)) and return the result"
        )
    kata.expect_equal(
        got,
        "Hello, Ada!",
        what='greet_sync("Ada", 0.05)',
        hint="return what asyncio.run(greet(name, delay)) returns",
    )
    kata.expect(
        submission.CALLS == before + 1,
        f'greet_sync("Ada", 0.05) returned the right text, but greet never ran (CALLS is '
        f"{submission.CALLS!r}, it was {before!r}): greet_sync must run greet itself, with "
        "asyncio.run(greet(name, delay)), not rebuild the greeting in synchronous code",
    )
    kata.expect(
        took >= 0.049,
        f'greet_sync("Ada", 0.05) returned after {took:.3f} s of real time; it should wait '
        "the 0.05 s delay: run greet(name, delay) with asyncio.run",
    )
    kata.expect(
        took <= 0.1,
        f'greet_sync("Ada", 0.05) took {took:.3f} s of real time; it should take about 0.05 s '
        "(at most 0.1 s): does it wait more than the delay?",
    )


# -- timing --------------------------------------------------------------------


@kata.check('greet("x", 1.5) takes 1.5 s of loop time', group="timing", hint=1)
async def test_greet_waits_its_delay(submission):
    t0 = kata.now()
    got = await submission.greet("x", 1.5)
    kata.expect_time(
        t0,
        1.5,
        what='greet("x", 1.5)',
        hint="wait with `await asyncio.sleep(delay)`, once",
        too_fast="greet must wait `delay` seconds of loop time with `await asyncio.sleep(delay)` "
        "(time.sleep blocks the loop, and loop time does not see it)",
    )
    kata.expect_equal(got, "Hello, x!", what='greet("x", 1.5)')


@kata.check("two heartbeats under gather take 1.0 s", group="timing", hint=3)
async def test_two_heartbeats_take_one_second(submission):
    t0 = kata.now()
    await asyncio.gather(submission.heartbeat(3, 0.3, []), submission.heartbeat(2, 0.5, []))
    kata.expect_time(
        t0,
        1.0,
        what="gather(heartbeat(3, 0.3, ...), heartbeat(2, 0.5, ...))",
        hint="the two run side by side (0.9 s and 1.0 s), so the pair takes 1.0 s: each "
        "heartbeat must return right after its last stamp, without one more sleep",
        too_fast="heartbeat(2, 0.5) alone needs 1.0 s: wait one interval before every stamp",
    )


# -- cancellation and errors ---------------------------------------------------


@kata.check(
    "a heartbeat cancelled at 0.65 s keeps stamps 0.3 and 0.6", group="cancellation", hint=6
)
async def test_cancelled_heartbeat_keeps_its_stamps(submission):
    stamps: list[float] = []
    t0 = kata.now()
    task = asyncio.ensure_future(submission.heartbeat(3, 0.3, stamps))
    await asyncio.sleep(0.65)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        kata.fail(
            f"heartbeat(3, 0.3, stamps) was cancelled at t=0.65 s but returned normally at "
            f"t={kata.now() - t0:.6g} s: the CancelledError must propagate. Don't catch it "
            "(or re-raise it after cleaning up)"
        )
    kata.expect_time(
        t0,
        0.65,
        what="heartbeat(3, 0.3) cancelled at t=0.65 s, until the cancellation ended it",
        hint="the cancellation must end it at once",
        exact=True,
    )
    seen = list(stamps)
    await asyncio.sleep(1.0)  # a heartbeat that survived the cancel would stamp again
    got = _relative(seen, t0)
    if got is None:
        kata.fail(f"heartbeat put {seen!r} in the list; each stamp must be loop.time()")
    kata.expect(
        _same_stamps(got, [0.3, 0.6]),
        f"heartbeat(3, 0.3, stamps) cancelled at t=0.65 s left stamps at {_fmt(got)} s; "
        "expected exactly [0.3, 0.6] s: the beats before the cancel stay in the list",
    )
    kata.expect(
        len(stamps) == len(seen),
        f"after being cancelled at t=0.65 s heartbeat still appended stamps: "
        f"{_fmt([s - t0 for s in stamps[len(seen) :]])} s. A cancelled heartbeat must stop",
    )


@kata.check(
    "greet_sync inside a running loop raises RuntimeError, leaving no coroutine behind",
    group="cancellation",
    hint=5,
)
async def test_greet_sync_inside_a_running_loop(submission):
    returned: Any = _NOTHING
    raised: type[BaseException] | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            returned = submission.greet_sync("Ada", 0.05)
        except RuntimeError as exc:  # the exact type is checked below
            raised = type(exc)
        returned_coroutine = isinstance(returned, Coroutine)
        if returned_coroutine:
            returned.close()
        shown = repr(returned)
        # No gc.collect() here: it would run on the loop thread and could trip the
        # blocking gate. A dropped coroutine warns as soon as its last reference
        # goes; one caught in a reference cycle is found by the leak gate's collection.
        returned = None
    never = [str(w.message) for w in caught if "was never awaited" in str(w.message)]
    for w in caught:  # the gates see them as well
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    call = 'greet_sync("Ada", 0.05), called while an event loop was running,'
    if raised is None:
        if returned_coroutine:
            kata.fail(
                f"{call} returned a coroutine object instead of raising RuntimeError: "
                "greet_sync must run greet to the end with asyncio.run, and refuse with "
                "RuntimeError when a loop is already running in this thread"
            )
        kata.fail(
            f"{call} returned {shown} instead of raising RuntimeError: synchronous code called "
            "from a coroutine cannot run the loop it is running in (and must not block it). "
            "Check for a running loop first and raise RuntimeError"
        )
    kata.expect(
        raised is RuntimeError,
        f"{call} raised {raised.__name__ if raised else None}; expected exactly RuntimeError "
        "(not a subclass)",
    )
    kata.expect(
        not never,
        f"{call} raised RuntimeError as it should, but left a coroutine behind: "
        f"{never[0] if never else ''}. The coroutine greet(...) was created before "
        "asyncio.run refused to run it. Check for a running loop first "
        "(asyncio.get_running_loop() raises RuntimeError when none runs) and create "
        "greet(...) only when asyncio.run can take it",
    )
