"""The gates every graded check passes through (CURRICULUM.md section 0).

``guarded(test)`` wraps a check's coroutine. After the check's body it lets the
loop settle at the current instant (or runs to ``leak_gate_at``), then:

* leak gate: no task other than the check's own is still pending, nothing was
  logged ("never retrieved", "destroyed but pending", "Exception in callback"),
  ``current_task().cancelling() == 0``, and no coroutine was left un-awaited;
* blocking gate: no callback held the loop thread (measured by the monitor).

A tripped gate fails the check with a message naming the cause; the gate's
name travels with the outcome because failing a gate zeroes the timing and
cancellation groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from ._clock import task_location
from ._state import CheckState, session
from .errors import KataFailure

__all__ = ["GateFailure", "describe_tasks", "guarded", "guarded_sync", "settle"]

# CPython's own log for gh-113538 (a cancelled start_server handler) on older versions.
_IGNORED_LOGS = ("StreamReaderProtocol",)


class GateFailure(AssertionError):
    """A gate tripped; ``gate`` is ``leak`` or ``blocking``."""

    def __init__(self, gate: str, message: str) -> None:
        super().__init__(message)
        self.gate = gate


class _Escaped(AssertionError):
    """KeyboardInterrupt or SystemExit came out of the submission."""


def describe_tasks(loop: asyncio.AbstractEventLoop) -> str:
    """One line per pending task: its name and where it waits."""
    sub = session().submission_path
    shown = session().display_name
    lines = []
    for task in asyncio.all_tasks(loop):
        loc = task_location(task, sub)
        where = loc.replace(sub, shown) if loc else _outer_location(task)
        lines.append(f"  task {task.get_name()!r} waiting at {where}")
    return "\n".join(sorted(lines)[:12])


def _outer_location(task: asyncio.Task[Any]) -> str:
    frames = task.get_stack(limit=1)
    if frames:
        code = frames[0].f_code
        return f"{code.co_name} (line {frames[0].f_lineno})"
    return "(not started yet)"


async def settle(loop: asyncio.AbstractEventLoop, until: float | None) -> None:
    """Run the loop until nothing more is ready at this instant (or until ``until``)."""
    if until is not None and loop.time() < until:
        await asyncio.sleep(until - loop.time())
    # Always yield once: the callback that ran the body must end before the
    # blocking gate reads what the monitor measured of it.
    await asyncio.sleep(0)
    for _ in range(1000):
        ready: Any = getattr(loop, "_ready", ())
        scheduled: Any = getattr(loop, "_scheduled", ())
        due = bool(scheduled) and scheduled[0].when() <= loop.time()
        if not ready and not due:
            return
        await asyncio.sleep(0)


def _leak_problems(state: CheckState, me: asyncio.Task[Any] | None) -> list[str]:
    loop = asyncio.get_running_loop()
    sub = session().submission_path
    shown = session().display_name
    problems: list[str] = []
    pending = [t for t in asyncio.all_tasks(loop) if t is not me and not t.done()]
    if pending:
        names = []
        for t in pending[:5]:
            loc = task_location(t, sub)
            names.append(
                f"{t.get_name()!r}" + (f" (waiting at {loc.replace(sub, shown)})" if loc else "")
            )
        problems.append(
            f"{len(pending)} task(s) were still running after the call returned at "
            f"t={loop.time():g} s: {', '.join(names)}. Every task you start must be awaited "
            "or cancelled (and the cancellation awaited) before you return"
        )
    if me is not None and me.cancelling():
        problems.append(
            f"the caller's task still has cancelling() == {me.cancelling()} after your code "
            "returned: a cancellation was absorbed without Task.uncancel(), so a later "
            "timeout or TaskGroup around the caller would misbehave"
        )
    for ctx in state.loop_errors:
        message = str(ctx.get("message", ""))
        if any(ignored in repr(ctx) for ignored in _IGNORED_LOGS):
            continue
        exc = ctx.get("exception")
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        problems.append(f"asyncio logged: {message}{detail}")
    return problems


def _warning_problems(caught: list[warnings.WarningMessage]) -> list[str]:
    out = []
    for w in caught:
        text = str(w.message)
        if "was never awaited" in text:
            out.append(
                f"{text}: a coroutine object was created and dropped; await it, or pass a "
                "factory (a function that makes the coroutine) instead of the coroutine"
            )
    return out


def _blocking_message(state: CheckState) -> str:
    shown = session().display_name
    sub = session().submission_path
    ev = state.blocking[0]
    where = f" at {ev.location.replace(sub, shown)}" if ev.location else ""
    if ev.what.startswith("time.sleep"):
        return (
            f"blocking call: {ev.what} was called on the event loop's thread{where}. "
            "It freezes every other task; use `await asyncio.sleep(...)` instead"
        )
    if ev.what == "a CPU-bound stretch":
        held = f"computed for {ev.cpu_s * 1000:.0f} ms of CPU time without awaiting"
    else:
        held = f"held the event loop's thread for {ev.wall_s * 1000:.0f} ms ({ev.what})"
    return (
        f"blocking call: one step of your code {held}{where}. Nothing else can run "
        "meanwhile; await instead of blocking, or move the work to a thread with "
        "`await asyncio.to_thread(...)`"
    )


def guarded(
    test: Callable[..., Coroutine[Any, Any, Any]], state_of: Callable[[], CheckState]
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Wrap a check's coroutine function with the gates."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> Any:
        state = state_of()
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        monitor = session().monitor
        monitor.enabled = not (state.realtime or state.allow_blocking)
        first_event = len(monitor.events)
        body_error: BaseException | None = None
        sim0, wall0 = loop.time(), time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                await test(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit) as exc:
                body_error = _Escaped(
                    f"your code raised {type(exc).__name__} inside the event loop; it stops "
                    "the whole program and must not be used for control flow"
                )
            except BaseException as exc:
                body_error = exc
            state.sim_s, state.wall_s = loop.time() - sim0, time.perf_counter() - wall0
            with contextlib.suppress(asyncio.CancelledError):
                await settle(loop, state.leak_gate_at)
            monitor.enabled = False
            state.blocking = monitor.events[first_event:]
            problems = _leak_problems(state, me)
            gc.collect()
            problems += [
                p for p in _leak_problems(state, me) if p not in problems and "task(s)" not in p
            ]
            problems += _warning_problems(list(caught))
        # Tidy up leaked tasks so the runner's shutdown does not trip over them.
        for t in asyncio.all_tasks(loop):
            if t is not me and not t.done():
                t.cancel()
        # The leak gate's conditions are attached to a check that otherwise
        # passed. When the check already failed (a wrong result, a deadlock),
        # what is left running is usually the symptom, not a second fault: it
        # is mentioned, but does not zero the other groups.
        if state.blocking:
            state.gate, state.gate_message = "blocking", _blocking_message(state)
        elif problems and body_error is None:
            state.gate = "leak"
            state.gate_message = "leak gate: " + "; ".join(dict.fromkeys(problems))
        elif problems and type(body_error) in (AssertionError, KataFailure):
            state.notes.append("Also: " + "; ".join(dict.fromkeys(problems)))
        if state.not_implemented is not None and body_error is None:
            raise KataFailure(
                f"not implemented yet (NotImplementedError at {state.not_implemented})"
            )
        if body_error is not None:
            raise body_error
        if state.gate is not None and state.gate_message is not None:
            raise GateFailure(state.gate, state.gate_message)
        return None

    return run


def guarded_sync(
    test: Callable[..., Any], state_of: Callable[[], CheckState]
) -> Callable[..., Any]:
    """Wrap a synchronous check (an API that runs its own loops, e.g. with ``loop_factory``).

    The same leak conditions apply where a synchronous check can see them:
    nothing logged by the loops it made, no coroutine left un-awaited.
    """

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        state = state_of()
        session().monitor.enabled = False
        wall0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                test(*args, **kwargs)
            finally:
                # Loop time covered = what every virtual loop the check made ran
                # (each starts at 0), so bench counts property scenarios too.
                state.wall_s = time.perf_counter() - wall0
                state.sim_s = sum(
                    lp.time() for lp in state.loops if getattr(lp, "stats", None) is not None
                )
                gc.collect()
            problems = _warning_problems(list(caught))
        for ctx in state.loop_errors:
            if any(ignored in repr(ctx) for ignored in _IGNORED_LOGS):
                continue
            exc = ctx.get("exception")
            detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
            problems.append(f"asyncio logged: {ctx.get('message', '')}{detail}")
        if state.not_implemented is not None:
            raise KataFailure(
                f"not implemented yet (NotImplementedError at {state.not_implemented})"
            )
        if problems:
            state.gate = "leak"
            state.gate_message = "leak gate: " + "; ".join(dict.fromkeys(problems))
            raise GateFailure("leak", state.gate_message)
        return None

    return run
