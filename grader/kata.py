"""What a hidden suite uses: check metadata, probes, and learner-facing assertions.

A hidden suite is a pytest module of ``async def`` tests, each decorated with
:func:`check`. It receives the submission through the ``submission`` fixture
and probes through the ``probes`` fixture. Assertions go through the helpers
here so that every failure reads as a sentence to the learner: what was
called, what happened, what was expected, and a hint.

Notation (CURRICULUM.md section 0): ``T=4.0`` means loop time in
``[4.0 - 1e-9, 4.01]``; ``exact`` means within ``1e-5``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from .plugin._probes import ProbeRecord, Probes
from .plugin._property import forall, strategies
from .plugin._state import current_check
from .plugin._sweep import sweep
from .plugin.errors import KataFailure

__all__ = [
    "KataFailure",
    "ProbeRecord",
    "Probes",
    "allow_blocking",
    "check",
    "expect",
    "expect_at",
    "expect_equal",
    "expect_time",
    "fail",
    "forall",
    "horizon",
    "leak_gate_at",
    "loop_stats",
    "now",
    "realtime",
    "seconds",
    "settle",
    "strategies",
    "sweep",
    "virtual_loop",
]

F = TypeVar("F", bound=Callable[..., Any])

T_LOW = 1e-9
T_HIGH = 0.01
EXACT = 1e-5


def check(
    name: str, *, group: str, weight: float = 1.0, hint: int | None = None
) -> Callable[[F], F]:
    """Declare a test as a graded check.

    ``group`` is ``behaviour``, ``timing`` or ``cancellation``; ``weight`` its
    share inside the group; ``hint`` the 1-based number of the exercise hint it
    relates to.
    """
    if group not in ("behaviour", "timing", "cancellation"):
        raise ValueError(f"unknown group {group!r}")

    def mark(fn: F) -> F:
        marked: F = pytest.mark.kata_check(name=name, group=group, weight=weight, hint=hint)(fn)
        return marked

    return mark


realtime = pytest.mark.realtime
"""Run this check on a real-time loop (threads, processes, sockets); blocking gate off."""

allow_blocking = pytest.mark.allow_blocking
"""This check blocks the loop on purpose; the exercise's own checks judge blocking."""


def leak_gate_at(t: float) -> pytest.MarkDecorator:
    """Run the leak gate once loop time reaches ``t`` (e.g. gather leaves siblings running)."""
    return pytest.mark.leak_gate_at(t)


def horizon(t: float) -> pytest.MarkDecorator:
    """Declare a check stuck if its loop would have to wait past ``t`` seconds."""
    return pytest.mark.horizon(t)


def fail(message: str) -> None:
    """Fail the check with ``message``."""
    raise KataFailure(message)


def expect(condition: object, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise KataFailure(message)


def now() -> float:
    """The running loop's time."""
    return asyncio.get_running_loop().time()


async def settle() -> None:
    """Let everything due at this instant run (no time passes), as the leak gate does."""
    from .plugin._gates import settle as _settle

    await _settle(asyncio.get_running_loop(), None)


def virtual_loop() -> asyncio.AbstractEventLoop:
    """A new loop on the grader's virtual clock (for sync checks that inject a ``loop_factory``).

    It starts at loop time 0 and carries the same deadlock and busy-wait bounds as
    the loop async checks run on; the caller must close it.
    """
    return asyncio.get_event_loop_policy().new_event_loop()


def loop_stats() -> Any:
    """Counters of the running virtual loop (``cycles_with_callbacks``, ``callbacks``)."""
    return asyncio.get_running_loop().stats  # type: ignore[attr-defined]


def _same(a: Any, b: Any) -> bool:
    """Equal by exact type and value, recursively: an object equal to everything fails."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, BaseException):
        return a is b
    result = a == b
    return result is True


def expect_equal(actual: Any, expected: Any, *, what: str, hint: str = "") -> None:
    """Fail unless ``actual`` has exactly ``expected``'s type and value."""
    if not _same(actual, expected):
        tail = f": {hint}" if hint else ""
        raise KataFailure(f"{what} returned {actual!r}; expected {expected!r}{tail}")


def seconds(x: float) -> str:
    """``4.0 s``, ``0.25 s``, ``1.0005 s``: loop times as a learner reads them."""
    text = f"{x:.4f}".rstrip("0")
    return (text + "0" if text.endswith(".") else text) + " s"


def expect_time(
    start: float,
    expected: float,
    *,
    what: str,
    hint: str = "",
    too_fast: str = "",
    exact: bool = False,
) -> None:
    """Fail unless the loop time since ``start`` is ``expected`` (T= or exact bounds).

    The message reads "<what> took 10.0 s of loop time; it should take 4.0 s: <hint>";
    ``too_fast`` replaces ``hint`` when it took less than expected.
    """
    took = now() - start
    low, high = (
        (expected - EXACT, expected + EXACT) if exact else (expected - T_LOW, expected + T_HIGH)
    )
    if not low <= took <= high:
        with contextlib.suppress(RuntimeError):
            current_check().expected_end = start + expected  # drawn on the timeline
        why = too_fast if (took < low and too_fast) else hint
        tail = f": {why}" if why else ""
        qualifier = "exactly " if exact else ""
        raise KataFailure(
            f"{what} took {seconds(took)} of loop time; it should take "
            f"{qualifier}{seconds(expected)}{tail}"
        )


def expect_at(
    actual: float | None,
    expected: float,
    *,
    what: str,
    hint: str = "",
    exact: bool = False,
) -> None:
    """Fail unless an instant recorded earlier (``actual``) is ``expected``.

    Same bounds as :func:`expect_time`; ``None`` means "never happened".
    """
    tail = f": {hint}" if hint else ""
    if actual is None:
        raise KataFailure(f"{what} never happened; expected at t={seconds(expected)}{tail}")
    low, high = (
        (expected - EXACT, expected + EXACT) if exact else (expected - T_LOW, expected + T_HIGH)
    )
    if not low <= actual <= high:
        qualifier = "exactly " if exact else ""
        raise KataFailure(
            f"{what} happened at t={seconds(actual)}; expected {qualifier}at "
            f"t={seconds(expected)}{tail}"
        )


def note(text: str) -> None:
    """Attach a remark to the running check's report (shown with its message)."""
    current_check().notes.append(text)
