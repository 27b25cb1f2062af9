"""Per-session and per-check state of the child process.

The plugin keeps one :class:`SessionState` (the submission being graded, the
monitor, the result channel) and one :class:`CheckState` per running check.
Both are reachable only through module globals captured at plugin start-up;
the submission is imported later and is told (not trusted) about them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from ._clock import BlockingEvent, Monitor

__all__ = ["CheckState", "SessionState", "current_check", "session"]


@dataclass
class CheckState:
    """What one check's gates have seen so far."""

    nodeid: str
    realtime: bool = False
    allow_blocking: bool = False
    leak_gate_at: float | None = None
    horizon: float = 600.0
    not_implemented: str | None = None
    loop: asyncio.AbstractEventLoop | None = None
    loops: list[asyncio.AbstractEventLoop] = field(default_factory=list)  # every loop it made
    loop_errors: list[dict[str, Any]] = field(default_factory=list)
    log_records: list[logging.LogRecord] = field(default_factory=list)
    blocking: list[BlockingEvent] = field(default_factory=list)
    gate: str | None = None
    gate_message: str | None = None
    late_leak: bool = False
    notes: list[str] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)  # "sweep", "property"
    properties: int = 0  # kata.forall calls so far, naming each one's recorded scenarios
    recorded: dict[str, Any] = field(default_factory=dict)  # when recording scenarios
    expected_end: float | None = None  # where expect_time wanted the call to end
    sim_s: float = 0.0  # loop time the check's body covered
    wall_s: float = 0.0  # real time the check's body took


@dataclass
class SessionState:
    """The submission under grading and the machinery watching it."""

    submission_path: str  # the file the child imports
    display_name: str  # how the learner knows it, e.g. exercises/05_x/solution.py
    exercise: str
    api: dict[str, str]
    monitor: Monitor
    isolated: bool = False
    watched: dict[Any, Any] = field(default_factory=dict)
    check: CheckState | None = None
    tampered: list[str] = field(default_factory=list)


_SESSION: list[SessionState] = []


def session() -> SessionState:
    """The session state; raises if the grader plugin did not start."""
    if not _SESSION:
        raise RuntimeError("the grader plugin is not active: run suites through `grade`")
    return _SESSION[0]


def install(state: SessionState) -> None:
    _SESSION.clear()
    _SESSION.append(state)


def current_check() -> CheckState:
    state = session().check
    if state is None:
        raise RuntimeError("no check is running")
    return state
