"""Keep the clock, the probes and pytest out of the submission's reach.

:func:`snapshot` records, once at start-up (before any submission code runs),
the objects a check relies on: ``asyncio.sleep``, the clocks in ``time``, the
loop's ``time`` and ``get_running_loop``, the suite-facing ``grader.kata``
helpers and the pytest internals that run and report a check. After every
check :func:`verify` compares them, puts the originals back, and names what
was replaced, so the check fails as tampering and the exercise scores 0.
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import time
from typing import Any

__all__ = ["snapshot", "verify"]

Watched = dict[tuple[object, str], Any]


def _targets() -> list[tuple[object, str, str]]:
    import _pytest.python
    import _pytest.runner

    from .. import kata
    from . import _clock, _probes, _property

    targets: list[tuple[object, str, str]] = [
        (asyncio, "sleep", "asyncio.sleep"),
        (asyncio.tasks, "sleep", "asyncio.sleep"),
        (asyncio, "get_running_loop", "asyncio.get_running_loop"),
        (asyncio.events, "get_running_loop", "asyncio.get_running_loop"),
        (asyncio.BaseEventLoop, "time", "the event loop's clock"),
        (_clock.VirtualLoop, "time", "the event loop's clock"),
        (_clock.VirtualLoop, "_run_once", "the event loop"),
        (time, "monotonic", "time.monotonic"),
        (time, "perf_counter", "time.perf_counter"),
        (time, "thread_time", "time.thread_time"),
        (time, "sleep", "time.sleep"),
        (_pytest.runner, "call_and_report", "pytest's test runner"),
        (_pytest.runner, "call_runtest_hook", "pytest's test runner"),
        (_pytest.python, "pytest_pyfunc_call", "pytest's test runner"),
        (_probes.Probes, "span", "the grader's probes"),
        (_probes.Probes, "job", "the grader's probes"),
        (_property, "_REPLAY", "the grader's recorded scenarios"),
        (_property, "_run", "the grader's property checks"),
    ]
    for name in (
        "expect",
        "expect_equal",
        "expect_time",
        "expect_at",
        "fail",
        "now",
        "_same",
        "forall",
        "sweep",
    ):
        targets.append((kata, name, f"grader.kata.{name}"))
    return targets


_NAMES: dict[tuple[int, str], str] = {}


def snapshot() -> Watched:
    """The watched objects as they are now (call before importing any submission)."""
    watched: Watched = {}
    for owner, attr, label in _targets():
        watched[(owner, attr)] = (
            owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        )
        _NAMES[(id(owner), attr)] = label
    return watched


def verify(watched: Watched) -> list[str]:
    """Names of what was replaced since ``snapshot``; the originals are put back."""
    changed: list[str] = []
    for (owner, attr), original in watched.items():
        current = (
            owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        )
        if current is not original:
            changed.append(_NAMES[(id(owner), attr)])
            setattr(owner, attr, original)
    return list(dict.fromkeys(changed))
