"""The learner's commands around grading: hint, next, solution, reset.

Pure helpers here; ``cli`` does the printing. Each function states what it
returns and raises :class:`LearnError` (a usage error, exit 2) with a message
that says what to do instead.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import time
from pathlib import Path

from ._catalog import Catalog, Exercise
from ._progress import Progress

__all__ = ["LearnError", "api_difference", "next_exercise", "next_hint", "reset", "solution_text"]


class LearnError(Exception):
    """A learner command cannot do what was asked; the message says why and what to do."""


def next_hint(ex: Exercise, progress: Progress, *, show_all: bool) -> list[tuple[int, str]]:
    """The hints to show now: one more than last time (or all); records what was shown."""
    if not ex.hints:
        raise LearnError(f"exercise {ex.code} has no hints; its README is {ex.readme}")
    seen = progress.get(ex.code).hints_shown
    count = len(ex.hints) if show_all else min(seen + 1, len(ex.hints))
    progress.hint_seen(ex.code, max(seen, count))
    progress.save()
    return list(enumerate(ex.hints[:count], start=1))


def next_exercise(catalog: Catalog, progress: Progress) -> Exercise | None:
    """The first exercise (runnable on this Python) without full marks yet."""
    for ex in catalog.exercises:
        if ex.runs_here() and not progress.get(ex.code).done:
            return ex
    return None


def solution_text(ex: Exercise, progress: Progress, *, force: bool) -> str:
    """The reference, once the learner has full marks (or with ``force``)."""
    if not force and not progress.get(ex.code).done:
        entry = progress.get(ex.code)
        so_far = f" (best so far {entry.best:g}/{entry.max_score:g})" if entry.attempts else ""
        raise LearnError(
            f"the reference for {ex.code} opens once your solution has full marks{so_far}; "
            f"try `grade hint {ex.code}`, or `grade solution {ex.code} --force` to give up"
        )
    if not ex.reference.is_file():
        raise LearnError(f"{ex.reference}: this course ships no reference for {ex.code}")
    return ex.reference.read_text(encoding="utf-8")


def _asyncio_names(source: str) -> set[str]:
    """The asyncio APIs a module uses: ``asyncio.X`` attributes and ``from asyncio import X``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "asyncio"
        ):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module == "asyncio":
            names.update(alias.name for alias in node.names)
    return names


def api_difference(theirs: str, reference: str) -> str | None:
    """A one-line note on how the learner's asyncio toolbox differs from the reference's."""
    mine, ref = _asyncio_names(theirs), _asyncio_names(reference)
    only_ref, only_mine = sorted(ref - mine), sorted(mine - ref)
    if not only_ref and not only_mine:
        return None
    parts = []
    if only_ref:
        parts.append("the reference uses " + ", ".join(f"asyncio.{n}" for n in only_ref))
    if only_mine:
        parts.append("yours uses " + ", ".join(f"asyncio.{n}" for n in only_mine))
    return "; ".join(parts) + " (both can be right: compare the approaches)"


def _pristine_stub(ex: Exercise) -> str:
    """The stub as the course first shipped it, from git history."""
    rel = ex.stub.relative_to(ex.course)
    try:
        first = subprocess.run(
            ["git", "log", "--diff-filter=A", "--format=%H", "--", str(rel)],
            cwd=ex.course,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if not first:
            raise LearnError(f"git has no history of {rel}; restore it from the course by hand")
        return subprocess.run(
            ["git", "show", f"{first[-1]}:{rel}"],
            cwd=ex.course,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise LearnError(
            f"cannot find the original stub of {ex.code} in git ({exc}); "
            "reset needs the course to be a git clone"
        ) from None


def reset(ex: Exercise) -> Path | None:
    """Restore the stub, keeping the learner's attempt in ``.grade/backups/`` (returned)."""
    stub = _pristine_stub(ex)
    backup: Path | None = None
    if ex.stub.is_file():
        if ex.stub.read_text(encoding="utf-8") == stub:
            return None
        folder = ex.course / ".grade" / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        backup = folder / f"{ex.slug}-{time.strftime('%Y%m%d-%H%M%S')}.py"
        shutil.copyfile(ex.stub, backup)
    ex.stub.write_text(stub, encoding="utf-8")
    return backup
