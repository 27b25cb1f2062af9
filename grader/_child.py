"""The grading child: ``python -I -B -m grader._child STAGING``, or :func:`start`
in a process forked from the warm worker (``grader._zygote``).

Contract: ``STAGING`` holds ``config.json`` (written by ``_sandbox``),
``work/<submission>``, ``suite/<suite>`` and ``pytest.ini``. The child joins
its pids cgroup (if any), enters fresh namespaces and becomes PID 1 there
(Linux; otherwise it goes on in the weaker process mode), isolates its view of
the filesystem, applies resource limits, moves into the work folder and runs
pytest with the grader's plugin and nothing else: no conftest, no ini, no
plugin of the submission's side. It ends with ``os._exit`` so no atexit hook
of the submission runs after the verdict. Results leave only through the
signed result pipe.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import resource
import sys
import types
from dataclasses import dataclass
from typing import Any

# pytest's own plugins that no hidden suite uses: not loading them saves start-up
# in every grading, and keeps a submission from reaching them (--pdb, doctest
# collection, the pastebin). The warm worker does not pre-import them either.
UNUSED_PLUGINS = (
    "cacheprovider",
    "stepwise",
    "debugging",
    "unittest",
    "legacypath",
    "pastebin",
    "junitxml",
    "doctest",
    "setuponly",
    "setupplan",
    "subtests",
)


def _limits(cfg: dict[str, int]) -> None:
    def cap(which: int, value: int) -> None:
        try:
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 2))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CPU, cfg["cpu_s"])
    cap(resource.RLIMIT_AS, cfg["as_bytes"])
    cap(resource.RLIMIT_FSIZE, cfg["fsize"])
    cap(resource.RLIMIT_NOFILE, cfg["nofile"])
    cap(resource.RLIMIT_CORE, 0)
    if cfg.get("nproc"):
        cap(resource.RLIMIT_NPROC, cfg["nproc"])


def _isolate(staging: str, cfg: dict[str, object], root: str) -> str:
    """Set up the namespaces' view of the world; returns the new staging folder.

    The staged files move to a private tmpfs on ``root`` (the staging folder
    itself, or the warm worker's folder for every grading), and the staging
    folder is hidden if that is elsewhere.
    """
    from . import _isolate as iso

    files: dict[str, bytes] = {}
    for rel in (
        "config.json",
        "pytest.ini",
        f"work/{cfg['submission_name']}",
        f"suite/{cfg['suite_name']}",
    ):
        with open(os.path.join(staging, rel), "rb") as fh:
            files[rel] = fh.read()
    cache = os.path.join(staging, "suite", "__pycache__")
    for name in os.listdir(cache) if os.path.isdir(cache) else ():
        with open(os.path.join(cache, name), "rb") as fh:
            files[f"suite/__pycache__/{name}"] = fh.read()
    notes: list[str] = []
    new = root
    iso.private_tmp(new)
    for rel, data in files.items():
        path = os.path.join(new, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    os.chmod(os.path.join(new, "suite"), 0o555)
    covered = [str(p) for p in cfg.get("hide", [])]  # type: ignore[attr-defined]
    if new != staging:
        covered.append(staging)  # the host's copy; this child's is at root
    for hidden in covered:
        if os.path.isdir(hidden):
            try:
                iso.hide(hidden)
            except OSError as exc:
                notes.append(f"could not hide {hidden}: {exc}")
    failed = iso.read_only_everything(keep_writable=(new, "/dev/shm"))
    if failed:
        notes.append("could not make read-only: " + ", ".join(failed))
    try:
        iso.loopback_up()
    except OSError as exc:
        notes.append(f"loopback not available: {exc}")
    try:
        iso.drop_capabilities()
    except OSError as exc:
        notes.append(f"capabilities kept: {exc}")
    if notes:
        sys.stderr.write("grader sandbox: " + "; ".join(notes) + "\n")
    return new


def _enter(cfg: dict[str, object]) -> None:
    """Join the pids cgroup, then try the namespaces (falling back to process mode)."""
    cgroup = cfg.get("cgroup")
    if isinstance(cgroup, str):
        try:
            with open(os.path.join(cgroup, "cgroup.procs"), "w", encoding="ascii") as fh:
                fh.write("0")
        except OSError as exc:
            sys.stderr.write(f"grader sandbox: no process limit ({exc})\n")
    if not cfg.get("isolate"):
        return
    from . import _isolate as iso

    try:
        iso.enter_namespaces()
    except OSError as exc:
        cfg["isolate"] = False
        sys.stderr.write(f"grader sandbox: no namespaces ({exc}); grading in process mode\n")
        return
    iso.become_pid1()


def main() -> None:
    start(sys.argv[1])


def _stage_pyc(staging: str, suite_name: str, suite: tuple[bytes, types.CodeType]) -> None:
    """Put the suite's rewritten code where pytest looks for its cached pyc.

    The format is pytest's (9+): magic, hash-based flags, the source hash,
    then the code. pytest verifies the hash against the staged suite and
    corrects the code's file name; a pyc it does not accept (another pytest
    version) only means it rewrites the suite itself, as without this.
    """
    try:
        from _pytest.assertion.rewrite import PYC_TAIL

        source_hash, code = suite
        folder = os.path.join(staging, "suite", "__pycache__")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, suite_name[:-3] + PYC_TAIL), "wb") as fh:
            fh.write(importlib.util.MAGIC_NUMBER + b"\x03\x00\x00\x00" + source_hash[:8])
            fh.write(marshal.dumps(code))
    except (ImportError, OSError, ValueError):
        pass


def pytest_args(root: str, cfg: dict[str, Any]) -> list[str]:
    """The pytest command line that grades the staging folder laid out at ``root``."""
    args = [
        os.path.join(root, "suite", cfg["suite_name"]),
        "-c",
        os.path.join(root, "pytest.ini"),
        "--rootdir",
        root,
        "--noconftest",
        "--import-mode=importlib",
        *(arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
        "-p",
        "pytest_asyncio.plugin",
        "-p",
        "pytest_timeout",
        "-p",
        "grader.plugin",
        "--grade-config",
        os.path.join(root, "config.run.json"),
        "-q",
        # Checks report through the plugin; pytest's own tracebacks only reach
        # the output tail. Its default style parses the source file again for
        # each frame of each failure, which made a stub's grading twice as slow.
        "--tb=native",
        "--capture=no",
        "-W",
        "default",
        # The plugins are imported before pytest starts (see _preimport), on
        # purpose; pytest's note that it cannot rewrite their asserts is noise
        # in the output a learner reads.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if cfg.get("shuffle_seed") is not None:
        args += ["-p", "grader.plugin._shuffle", "--grade-shuffle", str(cfg["shuffle_seed"])]
    return args


@dataclass(frozen=True)
class Preconfigured:
    """pytest's command line for a grading, already parsed by the warm worker.

    Parsing it (registering some 30 plugins, building the option parser,
    reading the ini) cost every grading child about 18 ms of CPU, for a result
    that only depends on :func:`pytest_args`. Paths in it point at ``root``,
    one folder per warm worker: each child lays out its private tmpfs there
    (its own mount namespace), so one parse serves every grading of a suite.
    ``config`` is a ``pytest.Config`` before ``pytest_configure``;
    ``import_hooks`` are what pytest put on ``sys.meta_path`` while parsing
    (its assertion rewriter), which the worker took off again.
    """

    root: str
    config: Any
    import_hooks: tuple[Any, ...]


def _run_preconfigured(preset: Preconfigured) -> int:
    """What ``pytest.main`` does after parsing its arguments."""
    import pytest

    sys.meta_path[0:0] = preset.import_hooks
    os.environ["PYTEST_VERSION"] = pytest.__version__
    config = preset.config
    try:
        return int(config.hook.pytest_cmdline_main(config=config))
    except pytest.UsageError as exc:
        for msg in exc.args:
            sys.stderr.write(f"ERROR: {msg}\n")
        return int(pytest.ExitCode.USAGE_ERROR)
    finally:
        config._ensure_unconfigure()


def start(
    staging: str,
    suite: tuple[bytes, types.CodeType] | None = None,
    preset: Preconfigured | None = None,
) -> None:
    """Grade in this process; never returns.

    ``suite``: the hidden suite already compiled by the warm worker, as
    (pytest's source hash, code), or None to let pytest compile it.
    ``preset``: pytest's parsed command line for this grading, used only if
    the child could move its files to ``preset.root`` (namespaces available).
    """
    with open(os.path.join(staging, "config.json"), encoding="utf-8") as fh:
        cfg = json.load(fh)
    if suite is not None:
        _stage_pyc(staging, cfg["suite_name"], suite)
    _enter(cfg)
    if cfg.get("isolate"):
        staging = _isolate(staging, cfg, preset.root if preset is not None else staging)
    _limits(cfg["limits"])
    work = os.path.join(staging, "work")
    os.chdir(work)
    os.environ["HOME"] = work
    os.environ["TMPDIR"] = work
    cfg["submission"] = os.path.join(work, cfg["submission_name"])
    cfg_path = os.path.join(staging, "config.run.json")
    with open(cfg_path, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh)
    # The work folder must not shadow stdlib or pytest modules.
    sys.path[:] = [p for p in sys.path if p not in ("", work, os.getcwd())]
    # Last, so nothing planted there shadows the stdlib or pytest; process-pool
    # workers inherit it and can import `submission` to unpickle its functions.
    sys.path.append(work)
    # A spawned worker process re-imports its parent's __main__ by name; the
    # grader is not importable there (the child's path has no editable-install
    # finder), so the grading runs under an empty __main__ with nothing to import.
    sys.modules["__main__"] = types.ModuleType("__main__")

    # Import pytest, the plugins and the grader's plugin before pytest starts, as
    # the warm worker does: pytest would otherwise re-parse and recompile every
    # module named by -p for assertion rewriting (-B keeps no cache), about
    # 0.1 s of every cold grading. Suites are still rewritten.
    from ._zygote import _preimport

    _preimport()
    import pytest

    try:
        if preset is not None and staging == preset.root:
            code = _run_preconfigured(preset)
        else:
            code = int(pytest.main(pytest_args(staging, cfg)))
    except BaseException:
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
