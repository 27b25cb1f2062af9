"""The student edition: ``grade export --student DIR`` and ``grade fetch-suites REPO@REF``.

The student edition is the course without ``solutions/``, the hidden suites
and the course's own tests (mutants, alternatives), for a class whose grading
happens in CI (``.github/workflows/grade.yml``). It carries a marker file so
``grade`` can explain, instead of failing, where grading happens; once the
teacher makes the suites available, ``grade fetch-suites`` brings them in
(checked against the teacher's manifest) and local grading works again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ._batch import MANIFEST, course_version, manifest

__all__ = ["MARKER", "ExportError", "export_student", "fetch_suites"]

MARKER = ".grade-student.json"
_SKIP = {"solutions", "tests", ".git", ".nox", ".grade", ".venv", "__pycache__", ".mypy_cache"}


class ExportError(Exception):
    """export or fetch-suites cannot proceed; the message says what to do."""


def export_student(course: Path, dest: Path) -> int:
    """Write the student edition of ``course`` into ``dest`` (new or empty); returns the count."""
    if dest.exists() and any(dest.iterdir()):
        raise ExportError(f"{dest} is not empty; export into a new folder")
    count = 0
    for src in sorted(course.rglob("*")):
        rel = src.relative_to(course)
        if rel.parts[0] in _SKIP or "__pycache__" in rel.parts or src.name.endswith(".egg-info"):
            continue
        if any(p.endswith(".egg-info") for p in rel.parts):
            continue
        target = dest / rel
        if src.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif src.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            count += 1
    (dest / MARKER).write_text(
        json.dumps({"course_version": course_version(course), "edition": "student"}, indent=2)
        + "\n"
    )
    return count + 1


def fetch_suites(course: Path, source: str) -> int:
    """Copy the hidden suites of ``REPO@REF`` into ``course``; returns how many."""
    repo, _, ref = source.rpartition("@") if "@" in source else (source, "", "")
    if not repo:
        repo, ref = source, ""
    with tempfile.TemporaryDirectory(prefix="grade-suites-") as tmp:
        cmd = ["git", "clone", "--quiet", "--depth", "1"]
        if ref:
            cmd += ["--branch", ref]
        proc = subprocess.run([*cmd, repo, tmp + "/c"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ExportError(f"cannot fetch {source}: {proc.stderr.strip() or 'git failed'}")
        upstream = Path(tmp) / "c"
        suites = sorted((upstream / "tests" / "exercises").glob("test_*.py"))
        if not suites:
            raise ExportError(f"{source} holds no tests/exercises/test_*.py")
        expected_file = upstream / MANIFEST
        if expected_file.is_file():
            expected = json.loads(expected_file.read_text(encoding="utf-8"))
            got = manifest(upstream)
            bad = [k for k in expected if k.startswith("tests/") and expected[k] != got.get(k)]
            if bad:
                raise ExportError(f"{source}: suites do not match its manifest: {', '.join(bad)}")
        target = course / "tests" / "exercises"
        target.mkdir(parents=True, exist_ok=True)
        for suite in suites:
            shutil.copy2(suite, target / suite.name)
        # The scenarios replayed for the suites' properties come from the same
        # place as the suites, or not at all: a fork's own copy could name
        # fewer scenarios than the course's.
        scenarios = upstream / "tests" / "exercises" / "scenarios.json"
        if scenarios.is_file():
            shutil.copy2(scenarios, target / scenarios.name)
        else:
            (target / scenarios.name).unlink(missing_ok=True)
        return len(suites)
