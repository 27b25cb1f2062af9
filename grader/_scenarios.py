"""Recorded property scenarios: the parent's side of :mod:`grader.plugin._property`'s replay.

``tests/exercises/scenarios.json``, beside the suites, holds for each suite
with property checks the scenarios each check received from Hypothesis when
the reference passed::

    {"schema": 1, "suites": {"test_05_semaphore_limit.py": {
        "sha256": "<of the suite's bytes>",
        "properties": {"<key>": {"hypothesis": "6.x", "grader": "<digest of _property.py>",
                                 "examples": ["([0.25], 1)", ...]}}}}}

Contract: :func:`for_suite` returns a suite's entries only while the suite's
bytes are those they were recorded from, only well-formed ones and only those
recorded with the installed Hypothesis (the child then also requires its own
``_property.py``); anything else (no file, a broken file, an edited suite,
another Hypothesis, ``GRADE_REPLAY=0``) returns None and the child runs
Hypothesis itself: slower, same verdicts. The file
is part of the course's manifest, so an edited one is refused by
``grade verify`` like an edited suite. :func:`record` rewrites it
(``grade verify --update``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._catalog import Exercise

__all__ = ["FILE_NAME", "RecordError", "for_suite", "has_properties", "record", "stale"]

FILE_NAME = "scenarios.json"
_SCHEMA = 1


class RecordError(Exception):
    """Scenarios could not be recorded (a reference that does not pass)."""


_lock = threading.Lock()
_loaded: dict[Path, tuple[int, int, dict[str, Any]]] = {}  # path -> (mtime_ns, size, doc)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(path: Path) -> dict[str, Any]:
    """The file's document ({} if missing or unreadable), read once per change."""
    try:
        st = path.stat()
    except OSError:
        return {}
    with _lock:
        hit = _loaded.get(path)
        if hit is not None and hit[:2] == (st.st_mtime_ns, st.st_size):
            return hit[2]
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = {}
    if not isinstance(doc, dict) or doc.get("schema") != _SCHEMA:
        doc = {}
    with _lock:
        _loaded[path] = (st.st_mtime_ns, st.st_size, doc)
    return doc


def _well_formed(props: object) -> bool:
    """A non-empty ``{key: {"hypothesis": str, "grader": str, "examples": [str, ...]}}``."""
    if not isinstance(props, dict) or not props:
        return False
    return all(
        isinstance(key, str)
        and isinstance(value, dict)
        and isinstance(value.get("hypothesis"), str)
        and isinstance(value.get("grader"), str)
        and isinstance(value.get("examples"), list)
        and bool(value["examples"])
        and all(isinstance(e, str) for e in value["examples"])
        for key, value in props.items()
    )


@functools.cache
def installed_hypothesis() -> str:
    """The installed Hypothesis version, read without importing it ("" if none)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hypothesis")
    except PackageNotFoundError:
        return ""


def for_suite(suite: Path) -> dict[str, Any] | None:
    """The recorded scenarios of ``suite``'s properties made with the installed
    Hypothesis, or None (the child runs Hypothesis)."""
    if os.environ.get("GRADE_REPLAY") == "0":
        return None
    suites = _load(suite.parent / FILE_NAME).get("suites")
    entry = suites.get(suite.name) if isinstance(suites, dict) else None
    if not isinstance(entry, dict):
        return None
    props = entry.get("properties")
    if not _well_formed(props):
        return None
    try:
        if entry.get("sha256") != _sha(suite):
            return None
    except OSError:
        return None
    assert isinstance(props, dict)
    current = {k: v for k, v in props.items() if v["hypothesis"] == installed_hypothesis()}
    return current or None


def has_properties(ex: Exercise) -> bool:
    """Whether ``ex``'s hidden suite has property checks (calls ``kata.forall``)."""
    try:
        return "forall(" in ex.suite.read_text(encoding="utf-8")
    except OSError:
        return False


def stale(exercises: Sequence[Exercise]) -> list[str]:
    """Suites with properties whose recorded scenarios are missing or out of date
    (another suite text, or another Hypothesis version than the installed one)."""
    return [
        ex.suite.name
        for ex in exercises
        if ex.runs_here() and has_properties(ex) and for_suite(ex.suite) is None
    ]


def _record_one(ex: Exercise) -> dict[str, Any]:
    from ._sandbox import run_suite

    run = run_suite(ex, ex.reference, f"solutions/{ex.reference.name}", record_scenarios=True)
    failed = [str(r.get("name")) for r in run.results if r.get("status") != "passed"]
    if run.collected is None or failed or not run.done:
        raise RecordError(
            f"exercise {ex.code}: the reference must pass to record its scenarios; "
            f"failing: {', '.join(failed) or 'the suite did not finish'}"
        )
    props: dict[str, Any] = {}
    for r in run.results:
        recorded = r.get("scenarios")
        if isinstance(recorded, dict):
            props.update(
                {k: {"hypothesis": installed_hypothesis(), **v} for k, v in recorded.items()}
            )
    return {"sha256": _sha(ex.suite), "properties": dict(sorted(props.items()))}


def record(exercises: Sequence[Exercise]) -> Path | None:
    """Grade each reference whose suite has properties, keeping what each property received.

    Rewrites the suites' ``scenarios.json`` (kept for suites that cannot run
    on this Python, dropped for suites that are gone) and returns its path,
    or None when no suite has properties. Raises :class:`RecordError`.
    """
    chosen = [ex for ex in exercises if has_properties(ex)]
    if not chosen:
        return None
    path = chosen[0].suite.parent / FILE_NAME
    runnable = [ex for ex in chosen if ex.runs_here()]
    with ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
        entries = dict(
            zip((ex.suite.name for ex in runnable), pool.map(_record_one, runnable), strict=True)
        )
    old = _load(path).get("suites")
    names = {ex.suite.name for ex in chosen}
    suites = {k: v for k, v in (old or {}).items() if k in names} if isinstance(old, dict) else {}
    suites.update(entries)
    doc = {
        "schema": _SCHEMA,
        "about": "Hypothesis's scenarios per property check, replayed by the grader; "
        "written by `grade verify --update`, see grader/_scenarios.py",
        "suites": {k: suites[k] for k in sorted(suites) if suites[k].get("properties")},
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path
