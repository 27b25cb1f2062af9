"""Shared fixtures for the grader's own tests: a tiny course built in a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

TOML = """\
title = "Tiny"
difficulty = 1
wall_limit = {wall}
hints = ["double it", "sleep first"]

[api]
double = "async def double(x: int) -> int"
"""

SUITE = """\
import asyncio
from grader import kata


@kata.check("doubles", group="behaviour", hint=1)
async def test_doubles(submission):
    kata.expect_equal(await submission.double(2), 4, what="double(2)")


@kata.check("takes 1.0 s", group="timing", hint=2)
async def test_takes_one_second(submission, probes):
    t0 = kata.now()
    async with probes.span("double(1)"):
        await submission.double(1)
    kata.expect_time(t0, 1.0, what="double(1)", hint="sleep 1 s first")


@kata.check("a cancel propagates", group="cancellation")
async def test_cancel(submission):
    t = asyncio.ensure_future(submission.double(1))
    await asyncio.sleep(0.5)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        return
    kata.fail("double() swallowed the cancellation")
"""

REFERENCE = """\
import asyncio


async def double(x: int) -> int:
    await asyncio.sleep(1)
    return 2 * x
"""

STUB = """\
async def double(x: int) -> int:
    # TODO
    raise NotImplementedError
"""


@dataclass
class Course:
    root: Path

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(text))
        return path

    def grade(self, *args: str, timeout: float = 120) -> tuple[int, str, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "grader", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def grade_json(self, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any]]:
        code, out, err = self.grade(*args, "--format", "json", timeout=timeout)
        assert code in (0, 1), err
        return code, json.loads(out)


def make_course(root: Path, wall: int = 20) -> Course:
    ex = root / "exercises" / "01_tiny"
    ex.mkdir(parents=True)
    (ex / "exercise.toml").write_text(TOML.format(wall=wall))
    (ex / "solution.py").write_text(STUB)
    (ex / "README.md").write_text("# Tiny\n")
    (root / "solutions").mkdir()
    (root / "solutions" / "01_tiny.py").write_text(REFERENCE)
    (root / "tests" / "exercises").mkdir(parents=True)
    (root / "tests" / "exercises" / "test_01_tiny.py").write_text(SUITE)
    return Course(root)


@pytest.fixture
def course(tmp_path: Path) -> Course:
    return make_course(tmp_path / "course")
