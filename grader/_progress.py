"""The learner's progress: best score per exercise and hints seen, in ``.grade/progress.json``.

The file lives in the course folder and is ignored by git. Only gradings of the
learner's own ``solution.py`` count (not ``--reference`` or ``--file``). Writes
are atomic (a temporary file renamed over the old one), so a killed command
never leaves a half-written file; an unreadable file is treated as empty and
replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._model import ExerciseResult, Status

__all__ = ["Entry", "Progress"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """What the learner has done on one exercise."""

    best: float = 0.0
    max_score: float = 0.0
    attempts: int = 0
    hints_shown: int = 0
    last: str = ""

    @property
    def done(self) -> bool:
        return self.max_score > 0 and self.best >= self.max_score


class Progress:
    """Read, update and save the progress file of one course."""

    def __init__(self, course: Path) -> None:
        self.path = course / ".grade" / "progress.json"
        self.entries: dict[str, Entry] = {}
        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
            for code, data in dict(raw.get("exercises", {})).items():
                self.entries[str(code)] = Entry(
                    best=float(data.get("best", 0.0)),
                    max_score=float(data.get("max_score", 0.0)),
                    attempts=int(data.get("attempts", 0)),
                    hints_shown=int(data.get("hints_shown", 0)),
                    last=str(data.get("last", "")),
                )
        except (OSError, ValueError, TypeError, AttributeError):
            self.entries = {}

    def get(self, code: str) -> Entry:
        return self.entries.get(code, Entry())

    def record(self, result: ExerciseResult) -> Entry:
        """Count one grading of the learner's own file; returns the new entry."""
        code = f"{result.number:02d}"
        old = self.get(code)
        if result.status is Status.SKIPPED:
            return old
        new = replace(
            old,
            best=max(old.best, result.score),
            max_score=result.max_score,
            attempts=old.attempts + 1,
            last=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        self.entries[code] = new
        return new

    def hint_seen(self, code: str, count: int) -> None:
        self.entries[code] = replace(self.get(code), hints_shown=count)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "schema_version": SCHEMA_VERSION,
            "exercises": {
                code: {
                    "best": e.best,
                    "max_score": e.max_score,
                    "attempts": e.attempts,
                    "hints_shown": e.hints_shown,
                    "last": e.last,
                }
                for code, e in sorted(self.entries.items())
            },
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
