"""Classroom grading: batch into a gradebook, resume, shards and merge, and verify."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

from conftest import REFERENCE, Course, make_course


def _student(root: Path, name: str, source: str | None) -> str:
    folder = root / name / "exercises" / "01_tiny"
    folder.mkdir(parents=True)
    if source is not None:
        (folder / "solution.py").write_text(source)
    # Files other than solution.py are never taken: a planted suite changes nothing.
    (root / name / "tests" / "exercises").mkdir(parents=True)
    (root / name / "tests" / "exercises" / "test_01_tiny.py").write_text("def test_x(): pass\n")
    return str(root / name)


def test_batch_writes_a_gradebook_row_per_submission(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", wall=6)
    good = _student(tmp_path, "ada", REFERENCE)
    hang = _student(tmp_path, "bob", "async def double(x):\n    while True:\n        pass\n")
    missing = _student(tmp_path, "cy", None)
    prefix = tmp_path / "book"
    code, out, err = course.grade(
        "batch", good, hang, missing, "--output", str(prefix), timeout=300
    )
    assert code == 0, err
    doc = json.loads(prefix.with_suffix(".json").read_text())
    totals = {Path(r["submission"]).name: r["total"] for r in doc["rows"]}
    assert totals == {"ada": 20.0, "bob": 0.0, "cy": 0.0}
    assert doc["python"] and doc["course_version"].startswith("0.1.0+")
    rows = list(csv.DictReader(prefix.with_suffix(".csv").open()))
    assert [r["01"] for r in rows] == ["20.0", "0.0", "0.0"]
    assert rows[0]["course_version"] == doc["course_version"]


def test_resume_keeps_rows_and_grades_only_the_rest(course: Course, tmp_path: Path) -> None:
    good = _student(tmp_path, "ada", REFERENCE)
    other = _student(tmp_path, "eve", REFERENCE)
    prefix = tmp_path / "book"
    course.grade("batch", good, "--output", str(prefix))
    book = prefix.with_suffix(".json")
    doc = json.loads(book.read_text())
    doc["rows"][0]["notes"] = "kept from the first run"
    book.write_text(json.dumps(doc))
    code, out, _ = course.grade("batch", good, other, "--output", str(prefix), "--resume")
    assert code == 0
    rows = json.loads(book.read_text())["rows"]
    assert [r["notes"] for r in rows] == ["kept from the first run", ""]
    assert [Path(r["submission"]).name for r in rows] == ["ada", "eve"]


def test_shards_then_merge_equal_one_run(course: Course, tmp_path: Path) -> None:
    subs = [_student(tmp_path, n, REFERENCE if i % 2 else "x = 1\n") for i, n in enumerate("abcd")]
    for i in (1, 2):
        code, _, err = course.grade(
            "batch", *subs, "--shard", f"{i}/2", "--output", str(tmp_path / f"s{i}")
        )
        assert code == 0, err
    code, _, _ = course.grade(
        "merge",
        str(tmp_path / "s1.json"),
        str(tmp_path / "s2.json"),
        "--output",
        str(tmp_path / "all"),
    )
    assert code == 0
    merged = json.loads((tmp_path / "all.json").read_text())["rows"]
    assert [Path(r["submission"]).name for r in merged] == ["a", "b", "c", "d"]
    assert [r["total"] for r in merged] == [0.0, 20.0, 0.0, 20.0]


def test_batch_from_a_git_repository(course: Course, tmp_path: Path) -> None:
    repo = Path(_student(tmp_path, "gina", REFERENCE))
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=g", "-c", "user.email=g@g", "commit", "-qm", "x"],
    ):
        subprocess.run(cmd, cwd=repo, check=True)
    code, _, err = course.grade("batch", f"file://{repo}", "--output", str(tmp_path / "book"))
    assert code == 0, err
    assert json.loads((tmp_path / "book.json").read_text())["rows"][0]["total"] == 20.0


def test_verify_refuses_edited_suites(course: Course) -> None:
    code, out, _ = course.grade("verify", "--update")
    assert code == 0
    assert course.grade("verify")[0] == 0
    suite = course.root / "tests" / "exercises" / "test_01_tiny.py"
    suite.write_text(
        suite.read_text().replace("expect_equal(await submission.double(2), 4", "expect_equal(4, 4")
    )
    code, out, _ = course.grade("verify")
    assert code == 1 and "refused" in out and "tests/exercises/test_01_tiny.py" in out


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_fork_workflow_grades_against_upstream_suites(course: Course, tmp_path: Path) -> None:
    """Simulate the workflow: an upstream course and a fork that edited its tests to cheat."""
    import shutil
    import sys

    repo = Path(__file__).resolve().parents[2]
    upstream = course.root
    (upstream / ".github").mkdir()
    shutil.copy(repo / ".github" / "grade-fork.sh", upstream / ".github" / "grade-fork.sh")
    assert course.grade("verify", "--update")[0] == 0
    _git(upstream, "init", "-q")
    _git(upstream, "add", "-A")
    _git(upstream, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "course")
    fork = tmp_path / "fork"
    _git(tmp_path, "clone", "-q", str(upstream), str(fork))
    suite = fork / "tests" / "exercises" / "test_01_tiny.py"
    suite.write_text(
        "from grader import kata\n\n"
        '@kata.check("doubles", group="behaviour")\n'
        "async def test_doubles(submission):\n    pass\n"
    )
    (fork / "exercises" / "01_tiny" / "solution.py").write_text(
        "async def double(x):\n    return 0\n"
    )
    out = tmp_path / "results"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    proc = subprocess.run(
        ["bash", str(upstream / ".github" / "grade-fork.sh"), str(upstream), str(fork), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 0 and results["max_score"] == 20
    assert "Points 0/20" in proc.stdout
    assert "| 01 | Tiny | 0/20 |" in (tmp_path / "summary.md").read_text()
    # The same workflow on the fork's own (edited) checkout is refused by verify.
    proc = subprocess.run(
        ["bash", str(upstream / ".github" / "grade-fork.sh"), str(fork), str(fork), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode != 0 and "refused" in proc.stdout


def test_student_edition_explains_then_grades_after_fetching_suites(
    course: Course, tmp_path: Path
) -> None:
    import sys

    assert course.grade("verify", "--update")[0] == 0
    _git(course.root, "init", "-q")
    _git(course.root, "add", "-A")
    _git(course.root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "course")
    student = tmp_path / "student"
    code, out, _ = course.grade("export", "--student", str(student))
    assert code == 0
    assert not (student / "solutions").exists() and not (student / "tests").exists()
    assert (student / "exercises" / "01_tiny" / "solution.py").is_file()
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "exercise", "1"],
        cwd=student,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        proc.returncode == 2 and "student edition" in proc.stderr and "fetch-suites" in proc.stderr
    )
    # A recording of property scenarios the course does not have (a fork's own,
    # naming fewer scenarios) is removed with the fetch, never replayed.
    forged = student / "tests" / "exercises" / "scenarios.json"
    forged.parent.mkdir(parents=True)
    forged.write_text('{"schema": 1, "suites": {}}')
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "fetch-suites", f"file://{course.root}@master"],
        cwd=student,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:  # the default branch may be called main
        proc = subprocess.run(
            [sys.executable, "-m", "grader", "fetch-suites", f"file://{course.root}"],
            cwd=student,
            capture_output=True,
            text=True,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert not forged.exists()
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "exercise", "1", "--format", "json"],
        cwd=student,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and json.loads(proc.stdout)["score"] == 0  # the stub, graded


def test_identical_files_share_one_grading_and_each_row_gets_its_verdict(
    course: Course, tmp_path: Path
) -> None:
    # Two copies of the reference, two of a wrong file: the scheduler grades each
    # content once (tests/grader/test_schedule.py), and every row still gets the
    # verdict its own file earns.
    wrong = "async def double(x):\n    return x\n"
    names = {"ada": REFERENCE, "bea": wrong, "cy": REFERENCE, "dee": wrong}
    subs = [_student(tmp_path, name, source) for name, source in names.items()]
    prefix = tmp_path / "book"
    code, _, err = course.grade("batch", *subs, "--output", str(prefix))
    assert code == 0, err
    rows = json.loads(prefix.with_suffix(".json").read_text())["rows"]
    totals = {Path(r["submission"]).name: r["total"] for r in rows}
    assert totals["ada"] == totals["cy"] == 20.0
    assert totals["bea"] == totals["dee"] < 20.0
