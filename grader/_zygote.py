"""The warm worker: a fork server with pytest and the plugin already imported.

``python -m grader._zygote`` (see :func:`grader._warm.interpreter`) is started
once by a command that grades (``grade exercise``, ``all``, ``batch``,
``watch``) and dies with it (``PR_SET_PDEATHSIG``). Each grading is still its
own fresh process: the zygote forks, and the fork becomes the grading child
(``_child.start``) with the pipes the parent passed over a Unix socket
(``SCM_RIGHTS``), so it skips interpreter start-up, imports, compiling the
hidden suite and (given a root folder) parsing pytest's command line: each is
done once here, where no submission ever runs, and inherited by every fork.

Environment: ``GRADE_ZYGOTE_FD`` (the socket), ``GRADE_ZYGOTE_PRELOAD``
(modules to import beyond pytest and the plugin), ``GRADE_ZYGOTE_ROOT`` (an
empty folder the parent owns, where children lay out their gradings; given by
commands that grade many times).

Protocol on the socket (a SOCK_SEQPACKET pair: one JSON object per message):
parent -> zygote ``{"id": n, "staging": path}`` with three file descriptors
attached (result pipe, output pipe, key pipe); zygote -> parent
``{"id": n, "pid": pid}`` once forked and ``{"id": n, "exit": code}`` when the
grading process ended (negative: killed by that signal).
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import hashlib
import importlib
import importlib.util
import json
import os
import select
import socket
import sys
import types
from typing import Any

from ._child import Preconfigured, pytest_args


def _preimport() -> None:
    """Import what every grading needs, so forks start warm."""
    import asyncio  # noqa: F401

    import pytest  # noqa: F401
    import pytest_asyncio.plugin  # noqa: F401
    import pytest_timeout  # noqa: F401
    from _pytest.config import default_plugins

    from ._child import UNUSED_PLUGINS

    for name in default_plugins:
        if name in UNUSED_PLUGINS:
            continue
        with contextlib.suppress(ImportError):
            importlib.import_module(f"_pytest.{name}")
    import grader._isolate
    import grader.kata
    import grader.plugin
    import grader.plugin._shuffle  # noqa: F401


# The hidden suites as pytest compiles them (asserts rewritten), by the sha256
# of their source: built once per suite in the zygote, inherited by every fork.
_SUITES: dict[str, tuple[bytes, types.CodeType]] = {}


def _staged_config(staging: str) -> dict[str, Any]:
    """The grading's ``config.json`` (written by ``_sandbox``); empty if unreadable."""
    try:
        with open(os.path.join(staging, "config.json"), encoding="utf-8") as fh:
            cfg = json.load(fh)
        return cfg if isinstance(cfg, dict) else {}
    except (OSError, ValueError):
        return {}


def _rewritten_suite(staging: str, cfg: dict[str, Any]) -> tuple[bytes, types.CodeType] | None:
    """(pytest's source hash, code) of the suite staged for this grading, or None.

    pytest rewrites the asserts of every test module it imports, which cost
    each grading about 10 ms of CPU (parse, rewrite, compile) for the same few
    suites. The child hands this to pytest as a cached pyc (``_child``); pytest
    checks the source hash itself and rewrites as before if anything differs.
    """
    try:
        path = os.path.join(staging, "suite", cfg["suite_name"])
        with open(path, "rb") as fh:
            source = fh.read()
        key = hashlib.sha256(source).hexdigest()
        if key not in _SUITES:
            from _pytest.assertion.rewrite import rewrite_asserts

            tree = ast.parse(source, filename=path)
            rewrite_asserts(tree, source, path, None)
            code = compile(tree, path, "exec", dont_inherit=True)
            _SUITES[key] = (importlib.util.source_hash(source), code)
        return _SUITES[key]
    except Exception:  # a broken suite is reported when pytest imports it
        return None


# The folder every child of this worker grades at (see _child.Preconfigured),
# made and removed by the parent (GRADE_ZYGOTE_ROOT); None: each child grades
# at its own staging folder and parses pytest's arguments itself.
_ROOT: str | None = None
_Key = tuple[bytes, tuple[str, ...]]  # (the ini's bytes, pytest's arguments)
_PRESETS: dict[_Key, Preconfigured | None] = {}  # None: parsing failed here


def _preset_key(staging: str, cfg: dict[str, Any]) -> _Key | None:
    """What pytest's parsed command line for the grading at ``staging`` depends on.

    None where no preset applies: no worker folder, or a child that will not
    have namespaces to lay its files out there (it parses for itself).
    """
    if _ROOT is None:
        return None
    if not cfg.get("isolate"):
        return None
    try:
        with open(os.path.join(staging, "pytest.ini"), "rb") as fh:
            ini = fh.read()
        return ini, tuple(pytest_args(_ROOT, cfg))
    except (OSError, KeyError, TypeError):
        return None


def _preset(key: _Key) -> Preconfigured | None:
    """The parsed command line for ``key``, parsed now if not yet; None if that fails here.

    This process has not run any submission, and a fork inherits the result
    and only configures and runs the session. A failure is remembered: each
    child then parses, and reports, as ``pytest.main`` does.
    """
    if key in _PRESETS:
        return _PRESETS[key]
    _PRESETS[key] = None
    if _ROOT is None:
        return None
    try:
        # _prepareconfig and Config._ensure_unconfigure are pytest's own
        # (private) halves of pytest.main; where a pytest lacks either, each
        # child parses for itself, as pytest.main does.
        from _pytest.config import _prepareconfig

        ini, args = key
        # pytest reads the ini and checks the root while parsing; the
        # child's tmpfs later covers these with the grading's own copies.
        for sub in ("work", "suite"):
            os.makedirs(os.path.join(_ROOT, sub), exist_ok=True)
        with open(os.path.join(_ROOT, "pytest.ini"), "wb") as fh:
            fh.write(ini)
        here, hooks = os.getcwd(), list(sys.meta_path)
        os.chdir(os.path.join(_ROOT, "work"))  # the child's working folder
        try:
            config = _prepareconfig(list(args))
        finally:
            os.chdir(here)
            added = tuple(h for h in sys.meta_path if h not in hooks)
            sys.meta_path[:] = hooks
        if callable(getattr(config, "_ensure_unconfigure", None)):
            _PRESETS[key] = Preconfigured(_ROOT, config, added)
    except Exception:
        pass
    return _PRESETS[key]


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)  # libc is in the process already
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL


def _child(
    staging: str,
    fds: list[int],
    suite: tuple[bytes, types.CodeType] | None,
    preset: Preconfigured | None,
) -> None:
    """In the fork: become the grading child on the passed pipes; never returns."""
    # The zygote may cache the grader's own bytecode; nothing imported from
    # here on (the suite, the submission) may write any.
    sys.dont_write_bytecode = True
    from . import _child

    result_fd, out_fd, key_fd = fds
    os.setsid()
    os.dup2(key_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(key_fd)
    os.close(out_fd)
    os.environ["GRADE_RESULT_FD"] = str(result_fd)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    os.chdir(staging)
    try:
        _child.start(staging, suite, preset)
    finally:
        os._exit(70)


def _pidfd(pid: int) -> int | None:
    """A descriptor that turns readable when ``pid`` exits (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def serve(sock: socket.socket) -> None:
    """Fork one grading child per request until the parent closes the socket.

    The parent learns a grading has ended from the ``exit`` message, so it
    must go out the moment the child dies: the loop sleeps in ``select`` on
    the socket and one pidfd per child (a 20 ms poll cost every grading 10 ms
    on average), and polls only where pidfds are missing.
    """
    running: dict[int, tuple[int, int | None]] = {}  # pid -> (request id, pidfd)
    open_socket = True
    while open_socket or running:
        watched: list[socket.socket | int] = [sock] if open_socket else []
        watched += [fd for _, fd in running.values() if fd is not None]
        polling = any(fd is None for _, fd in running.values())
        ready, _, _ = select.select(watched, [], [], 0.02 if polling else 1.0)
        if sock in ready:
            msg, fds, _, _ = socket.recv_fds(sock, 65536, 3)
            if not msg:
                open_socket = False
                for pid in running:
                    with contextlib.suppress(OSError):
                        os.killpg(pid, 9)
                continue
            request = json.loads(msg.decode())
            cfg = _staged_config(request["staging"])
            suite = _rewritten_suite(request["staging"], cfg)
            key = _preset_key(request["staging"], cfg)
            preset = _PRESETS.get(key) if key is not None else None
            pid = os.fork()
            if pid == 0:
                sock.close()
                for _, fd in running.values():
                    if fd is not None:
                        os.close(fd)
                _child(request["staging"], fds, suite, preset)
            for fd in fds:
                os.close(fd)
            running[pid] = (request["id"], _pidfd(pid))
            sock.send(json.dumps({"id": request["id"], "pid": pid}).encode())
            if key is not None and key not in _PRESETS:
                # Parsed after this fork, not before: this grading parses for
                # itself meanwhile (a lone grade exercise would otherwise wait
                # for the worker), and the next ones of the suite skip it.
                _preset(key)
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                running.clear()
                break
            if pid == 0:
                break
            rid, fd = running.pop(pid, (None, None))
            if fd is not None:
                os.close(fd)
            if rid is not None and open_socket:
                code = os.waitstatus_to_exitcode(status)
                with contextlib.suppress(OSError):
                    sock.send(json.dumps({"id": rid, "exit": code}).encode())


def main() -> None:
    global _ROOT
    _die_with_parent()
    sock = socket.socket(fileno=int(os.environ.pop("GRADE_ZYGOTE_FD")))
    _ROOT = os.environ.pop("GRADE_ZYGOTE_ROOT", None)
    # For every grading child (inherited) and for the arguments parsed here.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    _preimport()
    for name in os.environ.pop("GRADE_ZYGOTE_PRELOAD", "").split(","):
        if name:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    sock.send(b'{"ready": true}')
    serve(sock)
    os._exit(0)


if __name__ == "__main__":
    main()
