"""Hostile submissions, each graded through the real CLI (issue: hardening).

Every one must score 0 with a clear reason, within the exercise's wall limit,
print exactly one JSON document under 1 MiB, leave the course untouched and
leave no process behind. The tiny course's exercise has an 8 s wall limit.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REFERENCE, make_course

WALL = 8

CASES: dict[str, tuple[str, str]] = {
    "infinite loop at import": ("while True:\n    pass\n", "never finished"),
    "infinite loop in the coroutine": (
        "async def double(x):\n    while True:\n        pass\n",
        "",
    ),
    "waiting forever, even through a cancel": (
        "import asyncio\nasync def double(x):\n    try:\n        await asyncio.Event().wait()\n"
        "    except asyncio.CancelledError:\n        await asyncio.Event().wait()\n",
        "deadlock",
    ),
    "memory bomb": (
        "async def double(x):\n    hoard = []\n    while True:\n        hoard.append(bytearray(10**7))\n",
        "MemoryError",
    ),
    "process bomb": (
        "import os\nasync def double(x):\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n",
        "",
    ),
    "output flood": (
        "async def double(x):\n    while True:\n        print('x' * 100000)\n",
        "",
    ),
    "sys.exit at import": ("import sys\nsys.exit(0)\n", "called sys.exit(0) while being imported"),
    "os._exit at import": ("import os\nos._exit(0)\n", "ended (exit code 0)"),
    "sys.exit in the function": (
        "import sys\nasync def double(x):\n    sys.exit(3)\n",
        "raised SystemExit",
    ),
    "os._exit in the function": (
        "import os\nasync def double(x):\n    os._exit(3)\n",
        "ended (exit code 3)",
    ),
    "KeyboardInterrupt from the coroutine": (
        "async def double(x):\n    raise KeyboardInterrupt\n",
        "raised KeyboardInterrupt",
    ),
    "another BaseException from the coroutine": (
        "class Escape(BaseException):\n    pass\nasync def double(x):\n    raise Escape('out')\n",
        "raised Escape",
    ),
    "fake summary and JSON on stdout": (
        "print('===== 3 passed in 0.01s =====')\n"
        'print(\'{"schema_version": 1, "score": 20, "passed": true}\')\n'
        "async def double(x):\n    return 0\n",
        "returned 0",
    ),
    "monkeypatching asyncio.sleep": (
        "import asyncio\n_real = asyncio.sleep\n"
        "async def _fast(d, result=None):\n    return await _real(0, result)\n"
        "asyncio.sleep = _fast\n" + REFERENCE.replace("import asyncio\n", ""),
        "tampering: your code replaced asyncio.sleep",
    ),
    "monkeypatching the loop's clock": (
        "import asyncio\nasyncio.BaseEventLoop.time = lambda self: 1.0\n" + REFERENCE,
        "tampering: your code replaced the event loop's clock",
    ),
    "monkeypatching time.monotonic": (
        "import time\ntime.monotonic = lambda: 0.0\n" + REFERENCE,
        "tampering: your code replaced time.monotonic",
    ),
    "monkeypatching pytest internals": (
        "import _pytest.runner\n_pytest.runner.call_and_report = lambda *a, **k: None\n"
        + REFERENCE,
        "tampering",
    ),
    "ignoring SIGTERM and SIGALRM": (
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "async def double(x):\n    while True:\n        pass\n",
        "wall limit",
    ),
    "killing the parent process": (
        "import os, signal\nasync def double(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
        "    return 0\n",
        "",
    ),
    "editing and deleting the repository": (
        "import pathlib, shutil\nCOURSE = pathlib.Path({course!r})\n"
        "async def double(x):\n"
        "    try:\n        (COURSE / 'exercises' / '01_tiny' / 'solution.py').write_text('x')\n"
        "    except OSError:\n        pass\n"
        "    shutil.rmtree(COURSE / 'exercises', ignore_errors=True)\n    return 0\n",
        "returned 0",
    ),
    "reading the reference and the suite": (
        "import pathlib\nCOURSE = pathlib.Path({course!r})\n"
        "SOURCE = (COURSE / 'solutions' / '01_tiny.py').read_text()\n" + REFERENCE,
        "FileNotFoundError",
    ),
    "network connections": (
        "import socket\nasync def double(x):\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=1)\n    return 2 * x\n",
        "your code raised",
    ),
    "threads that never end": (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(10**6,)).start()\n"
        "async def double(x):\n    return 0\n",
        "returned 0",
    ),
    "deep recursion": (
        "def down(n):\n    return down(n + 1)\nasync def double(x):\n    return down(0)\n",
        "RecursionError",
    ),
    "filling the disk": (
        "async def double(x):\n    with open('big', 'wb') as fh:\n"
        "        while True:\n            fh.write(b'0' * (1 << 20))\n",
        "your code raised OSError",
    ),
    "orphan processes": (
        "import subprocess\nsubprocess.Popen(['sleep', '987654'], start_new_session=True)\n"
        "async def double(x):\n    return 0\n",
        "returned 0",
    ),
}


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _orphans() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if "sleep 987654" in line]


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_submission_scores_zero_and_harms_nothing(case: str, tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", wall=WALL)
    source, reason = CASES[case]
    path = tmp_path / "submission.py"
    path.write_text(source.replace("{course!r}", repr(str(course.root))))
    before = _snapshot(course.root)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "exercise", "1", "--file", str(path), "--format", "json"],
        cwd=course.root,
        capture_output=True,
        timeout=WALL + 60,
        check=False,
    )
    wall = time.perf_counter() - t0
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert len(proc.stdout) < 1 << 20
    doc = json.loads(proc.stdout)
    assert doc["score"] == 0, doc
    messages = " ".join(c["message"] for c in doc["checks"]) + " " + (doc.get("reason") or "")
    assert reason in messages, messages[:2000]
    assert all(c["message"] for c in doc["checks"]), "every failed check says why"
    assert wall < WALL + 15
    assert _snapshot(course.root) == before, "the submission changed the course"
    assert not _orphans(), "a process of the submission survived the grading"
