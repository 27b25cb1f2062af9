"""Parent side of the warm worker (``grader._zygote``), for commands that grade many times.

:class:`WarmWorker` is a context manager: entering starts the zygote, leaving
kills it, so nothing of it outlives the command. :meth:`WarmWorker.launch`
asks it to fork one grading child on the given pipes and returns a handle the
sandbox waits on and kills like a process it started itself. Thread-safe:
``grade all`` grades several exercises at once from a thread pool.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from types import TracebackType
from typing import Any

__all__ = [
    "Launched",
    "WarmWorker",
    "child_env",
    "interpreter",
    "start_worker",
    "warm_supported",
]

# What commands that grade many times preload: a third of the suites import it.
_MANY_PRELOAD = ("hypothesis", "hypothesis.strategies")


def child_env(result_fd: int | None = None) -> dict[str, str]:
    """The environment of a grading child (or of the warm worker, without a result fd)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "VIRTUAL_ENV", "TERM")
    }
    if result_fd is not None:
        env["GRADE_RESULT_FD"] = str(result_fd)
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        MALLOC_ARENA_MAX="2",
        PYTHONUNBUFFERED="1",
    )
    return env


# Run by ``python -I -S -B -c``: the parent's import path instead of site's
# start-up. Site would process every .pth file again, and an editable install's
# finder alone costs about 14 ms, on the critical path of every cold grading.
# The folder holding ``grader`` is on the path only until ``grader`` is
# imported (its submodules are found through the package), so the course's
# ``solutions`` and ``tests`` folders are never importable as packages.
_BOOT = """\
import os, site, sys
site.setquit(); site.setcopyright(); site.sethelper()
sys.path[:] = [p for p in os.environ.pop("GRADE_SYS_PATH").split(os.pathsep) if p]
root = os.environ.pop("GRADE_ROOT", "")
if root:
    sys.path.append(root)
import grader
if root:
    sys.path.remove(root)
import runpy
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""


def interpreter(
    module: str, *args: str, bytecode: bool = False
) -> tuple[list[str], dict[str, str]]:
    """The command line running ``python -m module args`` without site, and the
    variables to add to its environment (it removes them on start).

    ``bytecode``: may write .pyc files (the zygote, for the grader's own
    modules, which it imports before it forks anything untrusted). Reading
    cached bytecode is always allowed; compiling the plugin from source cost
    every grading about 25 ms.
    """
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    path = [p for p in sys.path if p and os.path.abspath(p) != cwd]
    extra = {"GRADE_SYS_PATH": os.pathsep.join(path)}
    if here not in path:
        extra["GRADE_ROOT"] = here
    flags = "-IS" if bytecode else "-ISB"
    return [sys.executable, flags, "-c", _BOOT, module, *args], extra


def warm_supported() -> bool:
    """The fork server needs fork, SCM_RIGHTS and SOCK_SEQPACKET: Linux.

    ``GRADE_WARM=0`` turns it off (every grading a new interpreter), for
    comparing the two and for ruling it out when something misbehaves.
    """
    return sys.platform.startswith("linux") and os.environ.get("GRADE_WARM") != "0"


class Launched:
    """A grading child forked by the zygote: its pid and, later, its exit code."""

    def __init__(self) -> None:
        self.pid = 0
        self.code: int | None = None
        self._started = threading.Event()
        self._ended = threading.Event()

    def wait(self, timeout: float | None) -> int | None:
        """The exit code (negative for a signal), or ``None`` if still running after ``timeout``."""
        if not self._ended.wait(timeout):
            return None
        return self.code


class WarmWorker:
    """A zygote with pytest and the plugin imported, forking one child per grading."""

    def __init__(self, env: dict[str, str], *, many: bool = False) -> None:
        # ``many``: for a command that grades many times (all, batch, watch).
        # Its zygote also imports Hypothesis, which costs about 0.1 s in each
        # grading whose suite has a property, and parses pytest's command line
        # once per suite (_zygote._preset), about 18 ms of CPU in each later
        # grading. A single grading would only wait for either: measured on
        # exercise 05, parsing in the worker made it 9 ms slower (median of 14).
        self._many = many
        self._env = dict(env, GRADE_ZYGOTE_PRELOAD=",".join(_MANY_PRELOAD)) if many else env
        self._lock = threading.Lock()
        self._next = 0
        self._pending: dict[int, Launched] = {}
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._gone = False
        self._root: str | None = None

    def __enter__(self) -> WarmWorker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv, extra = interpreter("grader._zygote", bytecode=True)
        env = dict(self._env, GRADE_ZYGOTE_FD=str(theirs.fileno()), **extra)
        if self._many:
            # Where the worker's children grade (_child.Preconfigured): the
            # parent owns it, so it goes when the command ends, however the
            # worker ends.
            self._root = env["GRADE_ZYGOTE_ROOT"] = tempfile.mkdtemp(prefix="grade-root-")
        try:
            self._proc = subprocess.Popen(
                argv,
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
            ours.close()
            theirs.close()
            raise
        theirs.close()
        # Not waiting for the worker's "ready" here lets its imports (about
        # 0.2 s) overlap whatever the caller does before its first launch;
        # requests sent meanwhile wait in the socket.
        self._sock = ours
        self._reader = threading.Thread(target=self._read, name="grader-warm", daemon=True)
        self._reader.start()
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _read(self) -> None:
        assert self._sock is not None
        sock = self._sock
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            msg: dict[str, Any] = json.loads(data)
            if msg.get("ready"):
                self._ready.set()
                continue
            with self._lock:
                handle = self._pending.get(int(msg.get("id", -1)))
            if handle is None:
                continue
            if "pid" in msg:
                handle.pid = int(msg["pid"])
                handle._started.set()
            if "exit" in msg:
                handle.code = int(msg["exit"])
                with self._lock:
                    self._pending.pop(int(msg["id"]), None)
                handle._ended.set()
        # The zygote is gone: nothing pending will ever be reported.
        self._gone = True
        self._ready.set()
        with self._lock:
            stranded = list(self._pending.values())
            self._pending.clear()
        for handle in stranded:
            handle._started.set()
            handle._ended.set()

    def launch(self, staging: str, result_fd: int, out_fd: int, key_fd: int) -> Launched:
        """Fork a grading child for ``staging`` on the given pipe ends."""
        handle = Launched()
        if not self._ready.wait(60) or self._gone:
            raise OSError("the warm grading worker failed to start")
        with self._lock:
            if self._sock is None:
                raise OSError("the warm grading worker is not running")
            rid = self._next
            self._next += 1
            self._pending[rid] = handle
            payload = json.dumps({"id": rid, "staging": staging}).encode()
            socket.send_fds(self._sock, [payload], [result_fd, out_fd, key_fd])
        if not handle._started.wait(30) or handle.pid == 0:
            raise OSError("the warm grading worker did not start the grading")
        return handle


def start_worker(stack: contextlib.ExitStack, *, many: bool = False) -> WarmWorker | None:
    """The command's warm worker, ended when ``stack`` closes; None where it cannot run.

    ``many``: the command grades many times (see :class:`WarmWorker`).

    Without one every grading starts a new interpreter: slower, same verdicts.
    """
    if not warm_supported():
        return None
    try:
        return stack.enter_context(WarmWorker(child_env(), many=many))
    except OSError:
        return None
