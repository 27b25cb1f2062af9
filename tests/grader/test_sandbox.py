"""The sandbox against submissions that hang, crash, exit, flood, forge or plant files.

Each is graded through the real CLI on a tiny course with a short wall limit;
each must end with a failing verdict and a clear reason, within the limit,
leaving the course untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import make_course


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def short(tmp_path: Path):
    return make_course(tmp_path / "course", wall=8)


def grade(course, source: str):
    path = course.root.parent / "submission.py"
    path.write_text(source)
    before = _snapshot(course.root)
    t0 = time.perf_counter()
    code, doc = course.grade_json("exercise", "1", "--file", str(path))
    wall = time.perf_counter() - t0
    assert _snapshot(course.root) == before, "the submission changed the course"
    assert code == 1 and doc["score"] == 0
    return doc, wall, " ".join(c["message"] for c in doc["checks"])


def test_hanging_submission_is_stopped_within_the_wall_limit(short) -> None:
    doc, wall, messages = grade(short, "async def double(x):\n    while True:\n        pass\n")
    assert wall < 8 + 10
    assert (
        "wall limit of 8 s" in messages or "did not finish within its real-time limit" in messages
    )


def test_crashing_submission(short) -> None:
    doc, _, messages = grade(short, "import os\nasync def double(x):\n    os.abort()\n")
    assert (
        "killed by SIGABRT: it crashed" in messages or "killed by SIGSEGV: it crashed" in messages
    )


def test_exiting_submission(short) -> None:
    doc, _, messages = grade(short, "import os\nos._exit(0)\n")
    assert "ended (exit code 0) before this check finished" in messages


def test_flooding_submission_output_is_capped(short) -> None:
    source = "import sys\nasync def double(x):\n    for _ in range(200000):\n        print('x' * 1000)\n    return 0\n"
    doc, wall, messages = grade(short, source)
    assert wall < 8 + 10
    assert len(str(doc)) < 1 << 20


def test_planted_conftest_ini_and_fake_summary_change_nothing(short) -> None:
    source = """
import pathlib
here = pathlib.Path(__file__).parent
(here / "conftest.py").write_text(
    "import pytest\\n"
    "@pytest.hookimpl(hookwrapper=True)\\n"
    "def pytest_runtest_makereport(item, call):\\n"
    "    out = yield\\n"
    "    out.get_result().outcome = 'passed'\\n"
)
(here / "pytest.ini").write_text("[pytest]\\naddopts = -p no:grader.plugin\\n")
print("===== 3 passed in 0.01s =====")
print('{"schema_version": 1, "score": 20, "max_score": 20, "passed": true}')

async def double(x):
    return 0
"""
    doc, _, messages = grade(short, source)
    assert "double(2) returned 0; expected 4" in messages


def test_forged_result_lines_are_ignored_and_reported(short) -> None:
    source = """
import os
for fd in range(3, 64):
    try:
        os.write(fd, b'0000 {"type": "check", "nodeid": "x", "status": "passed"}\\n')
    except OSError:
        pass

async def double(x):
    return 0
"""
    doc, _, _ = grade(short, source)
    assert any("cannot be forged" in n for n in doc["notes"])


def test_hidden_files_and_network_are_out_of_reach(short) -> None:
    source = """
import os, socket
seen = []
for path in ("solutions", "tests"):
    try:
        seen += os.listdir(os.path.join(%r, path))
    except OSError:
        pass
try:
    socket.create_connection(("192.0.2.1", 80), timeout=0.5)
    net = "reached"
except OSError:
    net = "blocked"
lo = socket.socket()
lo.bind(("127.0.0.1", 0))
lo.listen()
client = socket.create_connection(lo.getsockname())
raise RuntimeError(f"seen={seen} net={net} loopback=ok")
""" % str(short.root)
    doc, _, messages = grade(short, source)
    if doc["sandbox"] != "namespaces":
        pytest.skip("this machine refuses Linux namespaces")
    assert "seen=[] net=blocked loopback=ok" in messages


def test_process_mode_still_blocks_the_network_and_limits(short, monkeypatch) -> None:
    # The weaker sandbox (macOS, or Linux without namespaces): no namespace,
    # but the network is blocked in-process and the hang is still killed.
    monkeypatch.setenv("GRADE_SANDBOX", "process")
    source = """
import socket
try:
    socket.create_connection(("192.0.2.1", 80), timeout=0.5)
    net = "reached"
except PermissionError:
    net = "blocked"
async def double(x):
    raise RuntimeError(f"net={net}")
"""
    doc, _, messages = grade(short, source)
    assert doc["sandbox"] == "process"
    assert any("weaker sandbox" in n for n in doc["notes"])
    assert "net=blocked" in messages
    doc, wall, messages = grade(short, "async def double(x):\n    while True:\n        pass\n")
    assert wall < 8 + 10


def _parent(pid: str) -> int:
    try:
        return int((Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _zygotes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "grader._zygote" in cmd:
                found.append(entry.name)
    return found


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_warm_worker_grades_many_keeps_them_apart_and_leaves_nothing(short) -> None:
    from grader._catalog import load_catalog
    from grader._grading import grade_many

    before = set(_zygotes())
    ex = load_catalog(short.root).find("1")
    hang = short.root.parent / "hang.py"
    hang.write_text("async def double(x):\n    while True:\n        pass\n")
    exits = short.root.parent / "exits.py"
    exits.write_text("import os\nasync def double(x):\n    os._exit(3)\n")
    jobs = [
        (ex, ex.reference, "reference"),
        (ex, hang, "hang"),
        (ex, exits, "exits"),
        (ex, ex.reference, "reference again"),
    ]
    t0 = time.perf_counter()
    results = grade_many(jobs, workers=2)
    assert time.perf_counter() - t0 < 8 + 15
    assert [r.score for r in results] == [20.0, 0.0, 0.0, 20.0]
    assert "exit code 3" in " ".join(c.outcome.message for c in results[2].checks)
    mine = [pid for pid in set(_zygotes()) - before if _parent(pid) == os.getpid()]
    assert not mine, "the warm worker outlived the command"


def _realtime(course):
    toml = course.root / "exercises" / "01_tiny" / "exercise.toml"
    toml.write_text(
        toml.read_text().replace("difficulty = 1\n", 'difficulty = 1\nclock = "realtime"\n')
    )
    return course


def test_realtime_exercise_runs_split_and_is_reported_in_suite_order(short) -> None:
    course = _realtime(short)
    code, doc = course.grade_json("exercise", "1", "--reference")
    assert code == 0 and doc["score"] == doc["max_score"] == 20
    assert [c["name"] for c in doc["checks"]] == ["doubles", "takes 1.0 s", "a cancel propagates"]


def test_a_crash_in_one_shard_stops_the_grading_as_in_one_child(short) -> None:
    # Each check runs in a shard of its own; double(1) in "takes 1.0 s" ends its
    # process. One child running the suite in order would
    # never have reached "a cancel propagates", so its result is dropped: how the
    # suite is split must not change the verdict.
    course = _realtime(short)
    path = course.write(
        "exits.py",
        """\
        import asyncio, os

        async def double(x):
            if x == 1:
                await asyncio.sleep(0.7)
                os._exit(3)
            await asyncio.sleep(1)
            return 2 * x
        """,
    )
    code, doc = course.grade_json("exercise", "1", "--file", str(path))
    status = {c["name"]: c["status"] for c in doc["checks"]}
    assert code == 1
    assert status == {"doubles": "passed", "takes 1.0 s": "failed", "a cancel propagates": "failed"}
    message = {c["name"]: c["message"] for c in doc["checks"]}
    assert "exit code 3" in message["takes 1.0 s"]
    assert "not run" in message["a cancel propagates"]


def test_one_grading_split_in_two_gives_the_verdict_of_one_child(short) -> None:
    # `grade exercise` spreads a virtual-clock suite over two children (one per
    # core); `grade all` runs it in one. A submission that dies in the second
    # check must score the same both ways.
    (short.root / "exercises" / "01_tiny" / "solution.py").write_text(
        "import asyncio, os\n\n"
        "async def double(x):\n"
        "    await asyncio.sleep(1)\n"
        "    if x == 1:\n"
        "        os._exit(3)\n"
        "    return 2 * x\n"
    )
    code, one = short.grade_json("exercise", "1")
    assert code == 1
    code, every = short.grade_json("all")
    assert code == 1
    (alone,) = every["exercises"]
    statuses = [(c["name"], c["status"]) for c in one["checks"]]
    assert statuses == [(c["name"], c["status"]) for c in alone["checks"]]
    assert statuses == [
        ("doubles", "passed"),
        ("takes 1.0 s", "failed"),
        ("a cancel propagates", "failed"),
    ]
    assert one["score"] == alone["score"]


def test_grade_warm_0_grades_each_in_a_new_interpreter(short, monkeypatch) -> None:
    from grader._warm import warm_supported

    monkeypatch.setenv("GRADE_WARM", "0")
    assert not warm_supported()
    code, doc = short.grade_json("exercise", "1", "--reference")
    assert code == 0 and doc["score"] == 20
    code, doc = short.grade_json("all", "--reference")
    assert code == 0 and doc["score"] == 20


def test_children_start_without_site_and_cannot_import_the_course(tmp_path, monkeypatch) -> None:
    # Grading children start as `python -I -S` with the parent's import path: the
    # grader is importable, the course folder holding it is not on the path (no
    # `solutions` or `tests` package), and site's builtins such as exit() remain.
    import json
    import subprocess
    import sys

    import grader
    from grader._warm import child_env, interpreter

    (tmp_path / "probe_boot.py").write_text(
        "import importlib.util, json, os, sys\n"
        "print(json.dumps({\n"
        "    'no_site': sys.flags.no_site,\n"
        "    'grader': importlib.util.find_spec('grader._child') is not None,\n"
        "    'solutions': importlib.util.find_spec('solutions') is not None,\n"
        "    'exit': callable(exit),\n"
        "    'leaked': sorted(k for k in os.environ if k.startswith('GRADE_')),\n"
        "}))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv, extra = interpreter("probe_boot")
    root = Path(grader.__file__).parents[1]
    proc = subprocess.run(
        argv,
        env=dict(child_env(), **extra),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(proc.stdout) == {
        "no_site": 1,
        "grader": True,
        "solutions": False,
        "exit": True,
        "leaked": [],
    }
    assert sys.executable == argv[0]


def test_the_grading_output_carries_no_pytest_noise_about_preloaded_plugins(short) -> None:
    # The plugins are imported before pytest starts, on purpose; pytest's warning
    # that it cannot rewrite their asserts must not reach the learner's output.
    from grader._catalog import load_catalog
    from grader._sandbox import run_suite

    ex = load_catalog(short.root).find("1")
    out = run_suite(ex, ex.reference, "solution.py")
    assert out.done and "3 passed" in out.output
    assert "PytestAssertRewriteWarning" not in out.output


@pytest.mark.skipif(
    int(pytest.__version__.split(".")[0]) < 9, reason="pytest 8 keeps timestamp pycs"
)
def test_the_warm_worker_compiles_a_suite_once_and_pytest_takes_it(tmp_path) -> None:
    # The zygote rewrites and compiles each suite once; every grading child
    # stages that as pytest's own cached pyc. pytest must accept it (same
    # source hash), point it at the child's copy of the suite, and the asserts
    # must still be rewritten.
    from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc

    from grader import _child, _zygote

    source = "def test_x():\n    x = 1\n    assert x == 2\n"
    first, second = tmp_path / "first", tmp_path / "second"
    for staging in (first, second):
        (staging / "suite").mkdir(parents=True)
        (staging / "suite" / "test_x.py").write_text(source)
        (staging / "config.json").write_text('{"suite_name": "test_x.py"}')
    cfg = {"suite_name": "test_x.py"}
    suite = _zygote._rewritten_suite(str(first), cfg)
    assert suite is not None
    assert _zygote._rewritten_suite(str(second), cfg) is suite  # built once, by content
    _child._stage_pyc(str(second), "test_x.py", suite)
    target = second / "suite" / "test_x.py"
    code = _read_pyc(target, second / "suite" / "__pycache__" / f"test_x{PYC_TAIL}")
    assert code is not None and code.co_filename == str(target)
    namespace: dict[str, object] = {}
    exec(code, namespace)
    with pytest.raises(AssertionError, match=r"assert 1 == 2"):
        namespace["test_x"]()  # type: ignore[operator]
    # Another suite under the same name is not given the first one's code.
    (second / "suite" / "test_x.py").write_text(source.replace("2", "3"))
    assert _read_pyc(target, second / "suite" / "__pycache__" / f"test_x{PYC_TAIL}") is None


def test_the_warm_worker_parses_pytests_arguments_once_per_suite(tmp_path, monkeypatch) -> None:
    # The zygote parses pytest's command line once per (ini, arguments), every
    # path at the one folder where each of its children lays out its grading,
    # and takes pytest's import hooks back off its own sys.meta_path.
    from grader import _zygote

    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setattr(_zygote, "_ROOT", str(root))
    monkeypatch.setattr(_zygote, "_PRESETS", {})

    def key_of(name: str, ini: str, isolate: bool = True) -> Any:
        staging = tmp_path / name
        staging.mkdir()
        (staging / "pytest.ini").write_text(ini)
        cfg = {"suite_name": "test_x.py", "isolate": isolate}
        (staging / "config.json").write_text(json.dumps(cfg))
        return _zygote._preset_key(str(staging), _zygote._staged_config(str(staging)))

    key = key_of("a", "[pytest]\n")
    assert key is not None
    hooks = list(sys.meta_path)
    preset = _zygote._preset(key)
    assert preset is not None
    assert sys.meta_path == hooks
    assert any(type(h).__name__ == "AssertionRewritingHook" for h in preset.import_hooks)
    config = preset.config
    assert preset.root == str(root) and config.rootpath == root
    assert config.inipath == root / "pytest.ini"
    assert config.args == [str(root / "suite" / "test_x.py")]
    assert config.invocation_params.dir == root / "work"
    assert config.getoption("tbstyle") == "native"
    assert key_of("b", "[pytest]\n") == key
    assert _zygote._preset(key) is preset
    assert key_of("c", "[pytest]\ntimeout = 3\n") != key
    assert key_of("d", "[pytest]\n", isolate=False) is None


def test_later_warm_gradings_run_at_the_workers_folder_which_goes_with_them(short) -> None:
    # The worker parses a suite's command line after forking its first grading
    # (which parses for itself meanwhile); the next ones run at its folder,
    # with only their own grading's files there, and the folder goes with the
    # command.
    from grader._catalog import load_catalog
    from grader._grading import grade_many

    ex = load_catalog(short.root).find("1")
    probe = short.root.parent / "where.py"
    probe.write_text(
        "import os\n"
        "async def double(x):\n"
        "    raise RuntimeError(f'at={os.getcwd()} has={sorted(os.listdir(\"..\"))}')\n"
    )
    results = grade_many([(ex, probe, "first"), (ex, probe, "second")], workers=1)
    if any(r.sandbox != "namespaces" for r in results):
        pytest.skip("this machine refuses Linux namespaces")
    places = []
    for result in results:
        messages = " ".join(c.outcome.message for c in result.checks)
        found = re.search(r"at=(\S+)/work has=(\[[^\]]*\])", messages)
        assert found, messages
        assert found[2] == "['config.json', 'config.run.json', 'pytest.ini', 'suite', 'work']"
        places.append(Path(found[1]))
    assert not places[0].name.startswith("grade-root-")  # its own staging folder
    assert places[1].name.startswith("grade-root-")
    assert not places[1].exists()
