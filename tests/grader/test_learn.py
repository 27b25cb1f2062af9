"""The learner's loop: progress, list, next, hint, solution, reset, watch and interview.

Everything goes through the real CLI except the watch loop's fake-driven test,
which feeds it changes from a list instead of the file system.
"""

from __future__ import annotations

import json
import os
import select
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REFERENCE, Course

from grader._catalog import load_catalog
from grader._model import ExerciseResult, Status
from grader._progress import Progress
from grader._watch import Interview, watch_loop


def _git_init(root: Path) -> None:
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "course"],
    ):
        subprocess.run(cmd, cwd=root, check=True)


def test_progress_list_next_after_grading(course: Course) -> None:
    code, out, _ = course.grade("next")
    assert code == 0 and "Next: 01 Tiny" in out and "exercises/01_tiny/README.md" in out
    course.grade("exercise", "1")
    listing = json.loads(course.grade("list", "--format", "json")[1])["exercises"][0]
    assert listing["best"] == 0 and listing["done"] is False
    (course.root / "exercises" / "01_tiny" / "solution.py").write_text(REFERENCE)
    assert course.grade("exercise", "1")[0] == 0
    listing = json.loads(course.grade("list", "--format", "json")[1])["exercises"][0]
    assert listing["best"] == 20 and listing["done"] is True
    assert "done" in course.grade("list")[1]
    assert "the course is done" in course.grade("next")[1]
    saved = json.loads((course.root / ".grade" / "progress.json").read_text())
    assert saved["exercises"]["01"]["attempts"] == 2


def test_reference_runs_do_not_count_as_progress(course: Course) -> None:
    course.grade("exercise", "1", "--reference")
    assert not (course.root / ".grade" / "progress.json").exists()


def test_hints_are_progressive(course: Course) -> None:
    assert course.grade("hint", "1")[1] == "hint 1/2: double it\n"
    assert course.grade("hint", "1")[1] == "hint 1/2: double it\nhint 2/2: sleep first\n"
    assert course.grade("hint", "1")[1].count("hint") == 2
    assert course.grade("hint", "1", "--all")[1].count("hint") == 2


def test_solution_opens_after_full_marks_or_force(course: Course) -> None:
    code, out, err = course.grade("solution", "1")
    assert code == 2 and "opens once your solution has full marks" in err
    code, out, _ = course.grade("solution", "1", "--force")
    assert code == 0 and "return 2 * x" in out
    assert "the reference uses asyncio.sleep" in out


def test_reset_restores_the_stub_and_keeps_a_backup(course: Course) -> None:
    _git_init(course.root)
    stub = course.root / "exercises" / "01_tiny" / "solution.py"
    original = stub.read_text()
    stub.write_text("# my attempt\n")
    code, out, _ = course.grade("reset", "1")
    assert code == 0 and "is the stub again" in out
    assert stub.read_text() == original
    backups = list((course.root / ".grade" / "backups").glob("01_tiny-*.py"))
    assert [b.read_text() for b in backups] == ["# my attempt\n"]


def _result(ex, score: float) -> ExerciseResult:
    return ExerciseResult(
        number=ex.number,
        slug=ex.slug,
        title=ex.title,
        status=Status.PASSED if score == ex.points else Status.FAILED,
        score=score,
        max_score=float(ex.points),
        python="3",
        wall_s=0.0,
        submission="s",
    )


def test_watch_loop_regrades_on_save_and_moves_on(course: Course) -> None:
    second = course.root / "exercises" / "02_tiny"
    second.mkdir()
    (second / "exercise.toml").write_text('title = "Second"\ndifficulty = 1\n')
    (second / "solution.py").write_text("")
    cat = load_catalog(course.root)
    first_ex, second_ex = cat.exercises
    scores = iter([0.0, 20.0, 5.0])
    graded: list[str] = []
    shown: list[str] = []

    def grade(ex):
        graded.append(ex.code)
        return _result(ex, next(scores))

    changes = [
        set(),
        {str(first_ex.stub)},
        {str(course.root / "exercises" / "notes.txt")},
        {str(second_ex.stub)},
    ]
    interview = Interview(minutes=10)
    watch_loop(
        cat,
        first_ex,
        grade=grade,
        show=lambda r, banner: shown.append(banner),
        progress=Progress(course.root),
        interview=interview,
        watch_changes=lambda folder: iter(changes),
    )
    assert graded == ["01", "01", "02"]
    assert "full marks on 01! next: 02 Second" in shown[1]
    assert all(b.startswith("interview: ") for b in shown)
    text = interview.transcript()
    assert (
        text.count("| 01 Tiny |") == 2 and "20/20" in text and "Best scores: 01: 20, 02: 5" in text
    )


def _read_until(proc: subprocess.Popen, needle: str, timeout: float = 60) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {needle!r} in:\n{seen}"
        if sel.select(left):
            chunk = os.read(proc.stdout.fileno(), 65536).decode()
            assert chunk, f"the command ended before {needle!r}:\n{seen}"
            seen += chunk
    return seen


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Ctrl-C, as a learner ends it: the command then removes what it made in
    # /tmp (a SIGKILL would leave its warm worker's folder behind).
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def test_watch_end_to_end_regrades_on_save(course: Course) -> None:
    # Ctrl-C and exit status 130 are checked in a real terminal (tmux) below.
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", "1"],
        cwd=course.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _read_until(proc, "watching exercises/01_tiny/solution.py")
        (course.root / "exercises" / "01_tiny" / "solution.py").write_text(REFERENCE)
        out = _read_until(proc, "the course is done")
        assert "score 20/20" in out
    finally:
        _stop(proc)


def test_interview_hides_hints_and_writes_a_transcript(course: Course) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "interview", "1", "--minutes", "0.1"],
        cwd=course.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out = _read_until(proc, "left; watching")
        assert "hint 1" not in out
        code, _, err = course.grade("hint", "1")
        assert code == 2 and "hidden during an interview" in err
        assert proc.wait(timeout=60) == 0  # the session ends when its time is up
    finally:
        _stop(proc)
    transcripts = list((course.root / ".grade").glob("interview-*.md"))
    assert len(transcripts) == 1
    assert "| 01 Tiny | 0/20 |" in transcripts[0].read_text()
    assert course.grade("hint", "1")[0] == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_watch_in_a_real_terminal(course: Course, tmp_path: Path) -> None:
    """grade watch in tmux: the screen is re-drawn with the new verdict after a save."""
    session = f"grade-watch-{os.getpid()}"
    fifo = tmp_path / "screen.fifo"
    os.mkfifo(fifo)
    rc_file = tmp_path / "rc"
    command = f"{sys.executable} -m grader watch 1; echo $? > {rc_file}; sleep 30"
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "120",
            "-y",
            "50",
            "-c",
            str(course.root),
        ],
        check=True,
    )
    try:
        subprocess.run(["tmux", "pipe-pane", "-t", session, "-o", f"cat > {fifo}"], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, command, "Enter"], check=True)
        fd = os.open(fifo, os.O_RDONLY)
        stream = ""

        def until(needle: str) -> None:
            nonlocal stream
            deadline = time.monotonic() + 60
            while needle not in stream:
                left = deadline - time.monotonic()
                assert left > 0, f"never saw {needle!r}:\n{stream[-2000:]}"
                ready, _, _ = select.select([fd], [], [], left)
                if ready:
                    stream += os.read(fd, 65536).decode(errors="replace")

        until("Ctrl-C to stop")
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "score 0/20" in screen
        (course.root / "exercises" / "01_tiny" / "solution.py").write_text(REFERENCE)
        until("the course is done")
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "score 20/20" in screen and "score 0/20" not in screen  # re-drawn, not appended
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
        deadline = time.monotonic() + 30
        while not rc_file.exists() or not rc_file.read_text().strip():
            assert time.monotonic() < deadline, "grade watch did not exit on Ctrl-C"
            select.select([fd], [], [], 0.2)
        assert rc_file.read_text().strip() == "130"
        os.close(fd)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
