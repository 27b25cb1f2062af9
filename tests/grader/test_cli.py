"""The CLI contract, through the real command: arguments, exit codes, JSON shape."""

from __future__ import annotations

import json

from conftest import Course

CHECK_FIELDS = {"name", "group", "points", "max_points", "status", "message"}
EXERCISE_FIELDS = {
    "schema_version",
    "exercise",
    "slug",
    "title",
    "status",
    "score",
    "max_score",
    "passed",
    "python",
    "wall_s",
    "reason",
    "checks",
}


def test_reference_full_marks_exit_0_and_json_shape(course: Course) -> None:
    code, doc = course.grade_json("exercise", "1", "--reference")
    assert code == 0
    assert EXERCISE_FIELDS <= doc.keys()
    assert doc["schema_version"] == 1 and doc["exercise"] == 1 and doc["slug"] == "01_tiny"
    assert doc["status"] == "passed" and doc["passed"] is True
    assert doc["score"] == doc["max_score"] == 20
    assert [c["group"] for c in doc["checks"]] == ["behaviour", "timing", "cancellation"]
    for check in doc["checks"]:
        assert CHECK_FIELDS <= check.keys()
        assert check["status"] == "passed"


def test_number_forms_all_resolve(course: Course) -> None:
    for key in ("1", "01", "01_tiny", "tiny"):
        code, doc = course.grade_json("exercise", key, "--reference")
        assert code == 0 and doc["slug"] == "01_tiny"


def test_stub_scores_zero_exit_1_not_implemented(course: Course) -> None:
    code, doc = course.grade_json("exercise", "01")
    assert code == 1 and doc["score"] == 0 and doc["status"] == "failed"
    assert all("not implemented yet" in c["message"] for c in doc["checks"])


def test_file_option_and_text_report(course: Course) -> None:
    path = course.write(
        "slow.py",
        "import asyncio\nasync def double(x):\n    await asyncio.sleep(2)\n    return 2 * x\n",
    )
    code, out, _ = course.grade("exercise", "1", "--file", str(path))
    assert code == 1
    assert "double(1) took 2.0 s of loop time; it should take 1.0 s" in out
    assert "hint 2: sleep first" in out
    assert "double(1) ━" in out and "✓" in out  # the timeline of the failed timing check
    svg = course.root / "timeline.svg"
    code, _, _ = course.grade("exercise", "1", "--file", str(path), "--timeline", str(svg))
    assert code == 1
    import xml.etree.ElementTree as ET

    root = ET.parse(svg).getroot()  # well-formed XML
    assert root.tag.endswith("svg")
    assert "expected" in out and "the call should have ended here (1 s)" in out


def test_usage_errors_exit_2_with_one_line(course: Course) -> None:
    for args in (
        ("exercise", "9"),
        ("exercise", "1", "--file", "nowhere.py"),
        ("exercise", "1", "--bogus"),
        ("frobnicate",),
        (),
        ("exercise", "1", "--format", "xml"),
    ):
        code, out, err = course.grade(*args)
        assert code == 2, (args, out, err)
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


def test_broken_toml_is_a_configuration_error(course: Course) -> None:
    (course.root / "exercises" / "01_tiny" / "exercise.toml").write_text('title = "x"\n')
    code, out, err = course.grade("exercise", "1")
    assert code == 2 and out == ""
    assert "exercise.toml: key 'difficulty' is missing" in err


def test_exercise_needing_newer_python_is_skipped(course: Course) -> None:
    toml = course.root / "exercises" / "01_tiny" / "exercise.toml"
    toml.write_text(toml.read_text().replace("wall_limit", 'python_requires = "3.99"\nwall_limit'))
    code, doc = course.grade_json("exercise", "1")
    assert code == 0
    assert doc["status"] == "skipped" and doc["passed"] is True
    assert doc["score"] == doc["max_score"] == 0
    assert "needs Python 3.99+" in doc["reason"]
    code, doc = course.grade_json("all", "--reference")
    assert code == 0 and doc["passed"] is True and doc["max_score"] == 0


def test_all_prints_one_json_document(course: Course) -> None:
    code, out, _ = course.grade("all", "--reference", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert {"schema_version", "score", "max_score", "passed", "python", "exercises"} <= doc.keys()
    assert doc["score"] == doc["max_score"] == 20
    assert len(doc["exercises"]) == 1


def test_list_text_and_json(course: Course) -> None:
    code, out, _ = course.grade("list")
    assert code == 0 and "Tiny" in out
    code, out, _ = course.grade("list", "--format", "json")
    assert code == 0
    assert json.loads(out)["exercises"][0]["slug"] == "01_tiny"


def test_course_option_from_elsewhere(course: Course, tmp_path) -> None:
    import subprocess
    import sys

    before = subprocess.run(
        [sys.executable, "-m", "grader", "--course", str(course.root), "list", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert before.returncode == 0, before.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "exercise",
            "1",
            "--reference",
            "--course",
            str(course.root),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_junit_gradescope_and_github_formats(course: Course, tmp_path) -> None:
    import os
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    slow = course.write(
        "slow.py",
        "import asyncio\nasync def double(x):\n    await asyncio.sleep(2)\n    return 2 * x\n",
    )
    junit_file = tmp_path / "report.xml"
    code, out, _ = course.grade(
        "exercise", "1", "--file", str(slow), "--format", "junit", "--output", str(junit_file)
    )
    assert code == 1 and out == ""
    suite = ET.parse(junit_file).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='takes 1.0 s']/failure")
    assert failure is not None and "should take 1.0 s" in failure.get("message", "")

    code, out, _ = course.grade("exercise", "1", "--reference", "--format", "gradescope")
    doc = json.loads(out)
    assert code == 0 and doc["score"] == 20
    assert {"name", "score", "max_score", "output", "visibility"} <= doc["tests"][0].keys()

    summary = tmp_path / "summary.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "exercise",
            "1",
            "--file",
            str(slow),
            "--format",
            "github",
        ],
        cwd=course.root,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
        check=False,
    )
    assert proc.returncode == 1
    assert (
        "::error file=slow.py,line=2,title=01 takes 1.0 s::" in proc.stdout
    )  # relative to the course
    assert "Points 14/20" in proc.stdout
    assert "| 01 | Tiny | 14/20 | failed |" in summary.read_text()


def test_machine_formats_are_refused_where_they_mean_nothing(course: Course) -> None:
    code, out, err = course.grade("list", "--format", "junit")
    assert code == 2 and "is for `grade exercise` and `grade all`" in err


def test_check_option_runs_only_checks_whose_title_matches(course: Course) -> None:
    # By the title the learner sees, in any case, or by the test's own name.
    code, doc = course.grade_json("exercise", "1", "--reference", "--check", "TAKES 1.0")
    assert code == 0
    assert [c["name"] for c in doc["checks"]] == ["takes 1.0 s"]
    assert any("grade without --check" in note for note in doc["notes"])
    code, doc = course.grade_json("exercise", "1", "--reference", "--check", "test_cancel")
    assert [c["name"] for c in doc["checks"]] == ["a cancel propagates"]


def test_check_option_matching_nothing_is_a_usage_error_listing_the_checks(
    course: Course,
) -> None:
    code, out, err = course.grade("exercise", "1", "--reference", "--check", "no-such-check")
    assert code == 2 and out == ""
    assert err.startswith("grade: no check of exercise 01 matches 'no-such-check'")
    assert "doubles; takes 1.0 s; a cancel propagates" in err
    assert len(err.strip().splitlines()) == 1


def test_check_option_does_not_record_progress(course: Course) -> None:
    course.grade("exercise", "1", "--check", "doubles")
    assert not (course.root / ".grade" / "progress.json").exists()


def test_ctrl_c_anywhere_in_the_command_exits_130_without_a_traceback() -> None:
    import subprocess
    import sys

    # A main that is interrupted at once stands in for Ctrl-C during start-up.
    script = (
        "import grader, grader.cli\n"
        "def main(**_):\n    raise KeyboardInterrupt\n"
        "grader.cli.main = main\n"
        "grader.entry()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 130
    assert proc.stderr == "grade: interrupted\n"
