"""Grade one (exercise, submission) pair in a fresh, killable child process.

Contract of :func:`run_suite`: it never raises because of the submission. It
copies only the submission (and the exercise's own suite) into a private
staging folder, starts ``python -m grader._child`` there in its own session
(on Linux inside fresh user/mount/net/PID namespaces and, as root, a pids
cgroup), sends the channel key on stdin, and reads signed results from a
dedicated pipe. Output is drained and capped; a hard wall limit kills the
whole process group (and the namespace with it). Whatever happens, the
staging folder and the cgroup are removed and a :class:`RunOutcome` returned.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import _channel
from ._catalog import Exercise
from ._warm import Launched, WarmWorker, child_env, interpreter

__all__ = ["Limits", "RunOutcome", "isolation_mode", "run_suite"]

_INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
timeout = {timeout}
timeout_method = signal
python_files = test_*.py
python_functions = test_*
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading child.

    ``nproc`` bounds tasks (processes and threads) through a pids cgroup when
    running as root, or RLIMIT_NPROC above the user's current count otherwise.
    """

    wall_s: float = 60.0
    cpu_s: int = 60
    as_bytes: int = 1 << 30
    fsize: int = 64 << 20
    nofile: int = 256
    nproc: int = 256
    output_cap: int = 64 << 10
    check_timeout_s: float = 10.0


@dataclass(frozen=True)
class RunOutcome:
    """What came back from the child, before scoring."""

    collected: tuple[dict[str, object], ...] | None
    results: tuple[dict[str, object], ...]
    done: bool
    exit_code: int | None
    timed_out: bool
    wall_s: float
    output: str
    forged_lines: int = 0
    isolation: str = "process"
    notes: tuple[str, ...] = field(default=())
    every_check: tuple[str, ...] = ()  # every title, when --check kept only some


def isolation_mode() -> str:
    """The sandbox the child will try: ``namespaces`` on Linux, else ``process``.

    The child falls back to ``process`` by itself where the kernel refuses
    namespaces, and says so; ``GRADE_SANDBOX=process`` forces the weaker mode
    (to test it on Linux).
    """
    if os.environ.get("GRADE_SANDBOX") == "process" or not sys.platform.startswith("linux"):
        return "process"
    return "namespaces"


def _pids_cgroup(limit: int) -> Path | None:
    """A fresh pids cgroup (root only), or ``None`` where none can be made."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if not (base / "cgroup.procs").exists():
            continue
        if base == Path("/sys/fs/cgroup"):
            controllers = base / "cgroup.subtree_control"
            if not controllers.exists() or "pids" not in controllers.read_text():
                continue
        path = base / f"grade-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
            return path
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
    return None


def _remove_cgroup(path: Path) -> None:
    for _ in range(50):
        try:
            pids = (path / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.01)


def _user_task_count() -> int:
    """Tasks (processes and threads) of this user, for an RLIMIT_NPROC above them."""
    uid = os.getuid()
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 512
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def _chunks(fd: int) -> Iterator[bytes]:
    """What arrives on a pipe until its end (or until it is closed under us)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        yield chunk


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping only the first ``cap`` bytes."""

    def __init__(self, stream: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.fd = stream
        self.cap = cap
        self.kept = bytearray()
        self.dropped = 0

    def run(self) -> None:
        for chunk in _chunks(self.fd):
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))


class _Results(threading.Thread):
    """Reads and verifies signed result lines."""

    def __init__(self, fd: int, key: bytes) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.key = key
        self.messages: list[dict[str, object]] = []
        self.forged = 0

    def run(self) -> None:
        buf = b""
        for chunk in _chunks(self.fd):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._take(line)
            if len(buf) > _channel.MAX_LINE:
                self.forged += 1
                buf = b""

    def _take(self, line: bytes) -> None:
        payload = _channel.decode(self.key, line)
        if payload is None:
            self.forged += 1
        else:
            self.messages.append(payload)


def run_suite(
    exercise: Exercise,
    submission: Path,
    display_name: str,
    *,
    limits: Limits | None = None,
    only: str | None = None,
    shuffle_seed: int | None = None,
    warm: WarmWorker | None = None,
    shard: tuple[int, int] | None = None,
    record_scenarios: bool = False,
) -> RunOutcome:
    """Run ``exercise``'s hidden suite against ``submission`` in a sandboxed child.

    With ``warm``, the child is forked from that warm worker instead of
    started as a new interpreter; the isolation is the same. With ``shard``
    ``(i, n)`` the child runs only every n-th check from the i-th
    (:func:`merge_runs` joins the n outcomes). The suite's recorded property
    scenarios (:mod:`grader._scenarios`) go along to be replayed; with
    ``record_scenarios`` none do, and each passing property's scenarios come
    back in its check's result instead.
    """
    from ._scenarios import for_suite

    limits = limits or Limits(
        wall_s=exercise.wall_limit,
        cpu_s=int(exercise.wall_limit) + 5,
        # A hung check must end before the whole exercise's wall limit, so
        # the verdict names it (an import that never finishes, a spin).
        check_timeout_s=min(10.0, exercise.wall_limit / 2),
    )
    mode = isolation_mode()
    staging = Path(tempfile.mkdtemp(prefix="grade-"))
    cgroup: Path | None = None
    started = time.perf_counter()
    try:
        (staging / "work").mkdir()
        (staging / "suite").mkdir()
        # Staged as submission.py, the name the child imports it under, so that
        # spawn/forkserver workers can import it to unpickle the learner's own
        # functions (the work folder is appended to their sys.path).
        sub_name = "submission.py"
        shutil.copyfile(submission, staging / "work" / sub_name)
        shutil.copyfile(exercise.suite, staging / "suite" / exercise.suite.name)
        (staging / "pytest.ini").write_text(_INI.format(timeout=limits.check_timeout_s))
        nproc = 0
        if os.name == "posix" and os.geteuid() == 0:
            cgroup = _pids_cgroup(limits.nproc)
        elif os.name == "posix" and os.geteuid() != 0:
            nproc = _user_task_count() + limits.nproc
        cfg = {
            "exercise": exercise.code,
            "display_name": display_name,
            "api": dict(exercise.api),
            "submission_name": sub_name,
            "suite_name": exercise.suite.name,
            "isolate": mode == "namespaces",
            "hide": [
                str(p)
                for p in (
                    exercise.course / "solutions",
                    exercise.course / "tests",
                    exercise.course / ".git",
                )
            ],
            "limits": {
                "cpu_s": limits.cpu_s,
                "as_bytes": limits.as_bytes,
                "fsize": limits.fsize,
                "nofile": limits.nofile,
                "nproc": nproc,
            },
            "cgroup": str(cgroup) if cgroup is not None else None,
            "only": only,
            "shuffle_seed": shuffle_seed,
            "shard": list(shard) if shard is not None else None,
            "scenarios": None if record_scenarios else for_suite(exercise.suite),
            "record_scenarios": record_scenarios,
        }
        import json

        (staging / "config.json").write_text(json.dumps(cfg))
        return _supervise(staging, limits, mode, started, warm)
    finally:
        if cgroup is not None:
            _remove_cgroup(cgroup)
        shutil.rmtree(staging, ignore_errors=True)


def merge_runs(runs: Sequence[RunOutcome]) -> RunOutcome:
    """One outcome from the shards of a grading, checks back in the suite's order.

    The verdict is the one a single child running the whole suite would give:
    the suite could not start if any shard could not, and a shard that
    crashed, hung or was killed stops the grading at its first check without a
    result, which carries that reason; results of checks after it in the
    suite's order are dropped, as a single child would never have run them.
    So how a suite is split never changes a score.
    """
    if len(runs) == 1:
        return runs[0]
    collected: tuple[dict[str, object], ...] | None = None
    results = [m for r in runs for m in r.results]
    if all(r.collected is not None for r in runs):
        joined = [c for r in runs for c in r.collected or ()]
        collected = tuple(sorted(joined, key=lambda c: _order(c.get("order"))))
        answered = {str(m.get("nodeid")) for m in results}
        stop = next((c for c in collected if str(c.get("nodeid")) not in answered), None)
        if stop is not None:
            late = {
                str(c.get("nodeid"))
                for c in collected
                if _order(c.get("order")) > _order(stop.get("order"))
            }
            results = [m for m in results if str(m.get("nodeid")) not in late]
    bad = [r for r in runs if r.timed_out or not r.done]
    worst = bad[0] if bad else runs[0]
    return RunOutcome(
        collected=collected,
        results=tuple(results),
        done=all(r.done for r in runs),
        exit_code=worst.exit_code,
        timed_out=any(r.timed_out for r in runs),
        wall_s=max(r.wall_s for r in runs),
        output="\n".join(r.output for r in runs if r.output),
        forged_lines=sum(r.forged_lines for r in runs),
        isolation=worst.isolation,
        notes=tuple(dict.fromkeys(n for r in runs for n in r.notes)),
    )


def _order(value: object) -> int:
    return value if isinstance(value, int) else 0


class _Cold:
    """A grading child started as a fresh interpreter."""

    def __init__(self, staging: Path, result_fd: int, out_fd: int, key_fd: int) -> None:
        argv, extra = interpreter("grader._child", str(staging))
        self._proc = subprocess.Popen(
            argv,
            stdin=key_fd,
            stdout=out_fd,
            stderr=out_fd,
            pass_fds=(result_fd,),
            env=dict(child_env(result_fd), **extra),
            cwd=staging,
            start_new_session=True,
        )
        self.pid = self._proc.pid

    def wait(self, timeout: float | None) -> int | None:
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


def _supervise(
    staging: Path, limits: Limits, mode: str, started: float, warm: WarmWorker | None
) -> RunOutcome:
    key = _channel.new_key()
    r_res, w_res = os.pipe()
    r_out, w_out = os.pipe()
    r_key, w_key = os.pipe()
    proc: _Cold | Launched
    try:
        try:
            if warm is None:
                raise OSError("no warm worker")
            proc = warm.launch(str(staging), w_res, w_out, r_key)
        except OSError:
            proc = _Cold(staging, w_res, w_out, r_key)  # a failed warm worker only costs speed
    except BaseException:
        for fd in (r_res, r_out, w_key):
            os.close(fd)
        raise
    finally:
        for fd in (w_res, w_out, r_key):
            os.close(fd)
    drain = _Drain(r_out, limits.output_cap)
    results = _Results(r_res, key)
    drain.start()
    results.start()
    timed_out = False
    exit_code: int | None = None
    try:
        with contextlib.suppress(OSError):
            os.write(w_key, key + b"\n")
        os.close(w_key)
        exit_code = proc.wait(limits.wall_s)
        timed_out = exit_code is None
    finally:
        _kill_group(proc.pid)
        if exit_code is None:
            exit_code = proc.wait(10)
        results.join(timeout=5)
        drain.join(timeout=5)
        for fd in (r_res, r_out):
            with contextlib.suppress(OSError):
                os.close(fd)
    messages = results.messages
    collected = next((m for m in messages if m.get("type") == "collected"), None)
    if collected is not None and isinstance(collected.get("sandbox"), str):
        mode = str(collected["sandbox"])
    checks = tuple(m for m in messages if m.get("type") == "check")
    done = any(m.get("type") == "done" for m in messages)
    output = drain.kept.decode("utf-8", "replace")
    if drain.dropped:
        output += f"\n[... {drain.dropped} more bytes of output dropped]"
    return RunOutcome(
        collected=tuple(collected["checks"]) if collected else None,  # type: ignore[arg-type]
        results=checks,
        done=done,
        exit_code=exit_code,
        timed_out=timed_out,
        wall_s=time.perf_counter() - started,
        output=output,
        forged_lines=results.forged,
        isolation=mode,
        every_check=_titles(collected),
    )


def _titles(collected: dict[str, object] | None) -> tuple[str, ...]:
    every = collected.get("every") if collected else None
    return tuple(str(t) for t in every) if isinstance(every, list) else ()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
