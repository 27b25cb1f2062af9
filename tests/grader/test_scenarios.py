"""Recorded property scenarios: recorded by `grade verify --update`, replayed, never trusted blindly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Course

from grader._scenarios import FILE_NAME, for_suite, installed_hypothesis

PROPERTY_SUITE = """\
from grader import kata
from grader.kata import strategies as st


@kata.check("doubles any number (property)", group="behaviour", hint=1)
def test_doubles_any_number(submission):
    async def check(x):
        got = await submission.double(x)
        return None if got == 2 * x else f"double({x}) returned {got}, expected {2 * x}"

    kata.forall(st.integers(0, 1000), check, what="double(x)", examples=40)
"""

WRONG_ABOVE_500 = """\
async def double(x: int) -> int:
    return 2 * x if x < 500 else x
"""

# Wrong only on its very first call: a result that depends on earlier calls.
WRONG_FIRST_CALL = """\
calls = 0


async def double(x: int) -> int:
    global calls
    calls += 1
    return 2 * x if calls > 1 else -1
"""

EMPTIES_THE_REPLAY = """\
import types

import grader.plugin._property as p

p._REPLAY = types.MappingProxyType({})


async def double(x: int) -> int:
    return 2 * x
"""


@pytest.fixture
def prop_course(course: Course) -> Course:
    course.write("tests/exercises/test_01_tiny.py", PROPERTY_SUITE)
    code, out, err = course.grade("verify", "--update")
    assert code == 0, err
    assert FILE_NAME in out
    return course


def _property(report: dict[str, object]) -> dict[str, object]:
    checks = report["checks"]
    assert isinstance(checks, list) and len(checks) == 1
    check = checks[0]
    assert isinstance(check, dict)
    return check


def test_verify_update_records_the_scenarios_and_the_manifest_covers_them(
    prop_course: Course,
) -> None:
    suite = prop_course.root / "tests" / "exercises" / "test_01_tiny.py"
    doc = json.loads((suite.parent / FILE_NAME).read_text())
    (entry,) = doc["suites"].values()
    (recorded,) = entry["properties"].values()
    assert len(recorded["examples"]) == 40
    assert all(0 <= int(e) <= 1000 for e in recorded["examples"])
    assert for_suite(suite) == entry["properties"]
    manifest = json.loads((prop_course.root / ".grade-manifest.json").read_text())
    assert f"tests/exercises/{FILE_NAME}" in manifest
    # An edited recording is refused like an edited suite.
    (suite.parent / FILE_NAME).write_text(json.dumps(doc).replace('"1', '"2'))
    code, out, _ = prop_course.grade("verify")
    assert code == 1 and FILE_NAME in out


def test_a_replayed_property_reports_what_hypothesis_reports(prop_course: Course) -> None:
    # The replay meets the failure, then Hypothesis finds and shrinks it as it
    # would have without the replay: the same verdict and the same message.
    path = prop_course.write("wrong.py", WRONG_ABOVE_500)
    code, replayed = prop_course.grade_json("exercise", "1", "--file", str(path))
    assert code == 1
    message = _property(replayed)["message"]
    assert "smallest failing scenario 500" in str(message)
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "grader", "exercise", "1", "--file", str(path), "--format", "json"],
        cwd=prop_course.root,
        capture_output=True,
        text=True,
        env=dict(os.environ, GRADE_REPLAY="0"),
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert _property(json.loads(proc.stdout))["message"] == message
    assert prop_course.grade_json("exercise", "1", "--reference")[0] == 0


def test_a_failure_hypothesis_cannot_reproduce_still_fails_and_says_why(
    prop_course: Course,
) -> None:
    path = prop_course.write("stateful.py", WRONG_FIRST_CALL)
    code, report = prop_course.grade_json("exercise", "1", "--file", str(path))
    check = _property(report)
    assert code == 1 and check["status"] == "failed"
    assert "passed when run again" in str(check["message"])
    assert "depends on earlier calls" in str(check["message"])


def test_a_submission_emptying_the_replay_is_caught_tampering(prop_course: Course) -> None:
    path = prop_course.write("empties.py", EMPTIES_THE_REPLAY)
    code, report = prop_course.grade_json("exercise", "1", "--file", str(path))
    assert code == 1 and report["score"] == 0
    assert "the grader's recorded scenarios" in str(_property(report)["message"])


def _suite_and_recording(tmp_path: Path) -> tuple[Path, Path]:
    import hashlib

    suite = tmp_path / "test_01_x.py"
    suite.write_text(PROPERTY_SUITE)
    doc = {
        "schema": 1,
        "suites": {
            suite.name: {
                "sha256": hashlib.sha256(suite.read_bytes()).hexdigest(),
                "properties": {
                    "k": {
                        "hypothesis": installed_hypothesis(),
                        "grader": "g",
                        "examples": ["1", "2"],
                    }
                },
            }
        },
    }
    recording = tmp_path / FILE_NAME
    recording.write_text(json.dumps(doc))
    return suite, recording


def test_a_recording_counts_only_for_the_suite_it_was_made_from(tmp_path: Path) -> None:
    suite, _ = _suite_and_recording(tmp_path)
    assert for_suite(suite) == {
        "k": {"hypothesis": installed_hypothesis(), "grader": "g", "examples": ["1", "2"]}
    }
    suite.write_text(PROPERTY_SUITE + "# edited\n")
    assert for_suite(suite) is None


def test_a_recording_of_another_hypothesis_version_is_not_used(tmp_path: Path) -> None:
    suite, recording = _suite_and_recording(tmp_path)
    recording.write_text(recording.read_text().replace(installed_hypothesis(), "0.0.1"))
    assert for_suite(suite) is None


@pytest.mark.parametrize(
    "breakage",
    [
        lambda text: text[:-3],  # not JSON
        lambda text: text.replace('"schema": 1', '"schema": 99'),
        lambda text: text.replace('["1", "2"]', '"1, 2"'),
        lambda text: text.replace('["1", "2"]', "[]"),
        lambda text: text.replace('["1", "2"]', "[1, 2]"),
        lambda text: text.replace(f'"hypothesis": "{installed_hypothesis()}"', '"hypothesis": 6'),
        lambda text: text.replace('"grader": "g", ', ""),
    ],
    ids=[
        "not-json",
        "schema",
        "examples-not-a-list",
        "no-examples",
        "not-text",
        "version",
        "no-grader-digest",
    ],
)
def test_a_broken_recording_is_ignored_not_trusted(tmp_path: Path, breakage) -> None:
    suite, recording = _suite_and_recording(tmp_path)
    recording.write_text(breakage(recording.read_text()))
    assert for_suite(suite) is None


def test_grade_replay_0_turns_the_replay_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, _ = _suite_and_recording(tmp_path)
    monkeypatch.setenv("GRADE_REPLAY", "0")
    assert for_suite(suite) is None


def test_lazy_strategies_build_what_hypothesis_would() -> None:
    # Suites build strategies from kata.strategies, so that a replay never
    # imports Hypothesis; built, they must be exactly Hypothesis's own.
    from hypothesis import strategies as hs

    from grader.plugin._property import _Lazy, _real

    def lazy(name: str) -> _Lazy:
        return _Lazy(lambda: getattr(hs, name))

    built = _real(
        lazy("tuples")(
            lazy("lists")(lazy("integers")(1, 12).map(str), max_size=3),
            lazy("none")() | lazy("integers")(0, 7),
            [lazy("just")(1)],
        )
    )
    expected = hs.tuples(
        hs.lists(hs.integers(1, 12).map(str), max_size=3),
        hs.none() | hs.integers(0, 7),
        [hs.just(1)],
    )
    assert repr(built) == repr(expected)
