"""The grader's pytest plugin, loaded only inside the grading child process.

It is started with ``-p grader.plugin --grade-config FILE`` by ``grader._child``.
At configure time, before any submission code is imported, it reads the
channel key from stdin, takes the result pipe, captures the real clock
functions, patches ``time.sleep`` to spot blocking sleeps on the loop thread,
and installs the event-loop policy (virtual clock, or a plain loop for
``@realtime`` checks). Each check then imports the submission afresh, runs
behind the gates, and reports one signed outcome on the result pipe.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Generator
from types import ModuleType
from typing import Any

import pytest

from .. import _channel
from . import _compat, _netguard, _property, _tamper
from ._clock import BusyWait, Deadlock, Monitor, VirtualLoop
from ._gates import GateFailure, describe_tasks, guarded, guarded_sync
from ._probes import Probes
from ._state import CheckState, SessionState, install, session
from ._submission import SubmissionError, load_submission

__all__ = ["Probes"]

_KEY = pytest.StashKey[CheckState]()
_PHASES = pytest.StashKey[dict[str, Any]]()
_writer: list[Any] = []  # [fd, key, pid]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grade-config", default=None, help="grader configuration (JSON file)")


def _send(payload: dict[str, Any]) -> None:
    if not _writer:
        return
    fd, key, pid = _writer
    if os.getpid() != pid:
        return  # a process the submission forked speaks for nobody
    data = _channel.encode(key, payload)
    while data:
        data = data[os.write(fd, data) :]


class _LoopErrors(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        state = session().check
        if state is not None and record.levelno >= logging.ERROR:
            state.loop_errors.append({"message": record.getMessage()})


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    state = session().check
    if state is not None:
        state.loop_errors.append(context)


_only: list[str] = []  # `grade exercise --check NAME`: the part of a title to keep
_shard: list[int] = []  # [index, count]: this child runs every count-th check from index


class _Policy(asyncio.DefaultEventLoopPolicy):
    """New loops are virtual unless the running check is ``@realtime``."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        state = session().check
        loop: asyncio.AbstractEventLoop
        if state is None or state.realtime:
            loop = asyncio.SelectorEventLoop()
        else:
            loop = VirtualLoop(
                session().monitor, horizon=state.horizon, describe_tasks=describe_tasks
            )
        loop.set_exception_handler(_exception_handler)
        if state is not None:
            state.loop = loop
            state.loops.append(loop)
        return loop


def _patch_sleep(monitor: Monitor) -> None:
    real_sleep = time.sleep

    def sleep(seconds: float, /) -> None:
        if monitor.enabled and seconds > 0 and monitor.in_callback():
            monitor.report_sleep(seconds, sys._getframe(1))
            # The gate has already failed the check; waiting the full time
            # would only slow the verdict down.
            seconds = min(seconds, 0.05)
        real_sleep(seconds)

    sleep.__doc__ = real_sleep.__doc__
    time.sleep = sleep  # type: ignore[assignment]


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in (
        ("kata_check(name, group, weight, hint)", "a graded check"),
        ("realtime", "run on a real-time loop; blocking gate off"),
        ("allow_blocking", "the check blocks on purpose; blocking gate off"),
        ("leak_gate_at(t)", "run the leak gate at loop time t"),
        ("horizon(t)", "declare the check stuck past loop time t"),
    ):
        config.addinivalue_line("markers", f"{name}: {doc}")
    path = config.getoption("--grade-config")
    if path is None:
        return
    with open(path, encoding="utf-8") as fh:
        cfg = json.load(fh)
    fd_env = os.environ.pop("GRADE_RESULT_FD", None)
    key = b""
    if fd_env is not None:
        # The key arrives on stdin and is gone before any submission code runs.
        key = sys.stdin.buffer.readline().strip()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    if fd_env is not None and key:
        fd = os.dup(int(fd_env))
        os.set_inheritable(fd, False)
        os.close(int(fd_env))
        _writer[:] = [fd, key, os.getpid()]
    if cfg.get("only"):
        _only[:] = [str(cfg["only"])]
    if cfg.get("shard"):
        _shard[:] = [int(cfg["shard"][0]), int(cfg["shard"][1])]
    monitor = Monitor()
    install(
        SessionState(
            submission_path=cfg["submission"],
            display_name=cfg["display_name"],
            exercise=cfg["exercise"],
            api=dict(cfg.get("api", {})),
            monitor=monitor,
            isolated=bool(cfg.get("isolate", False)),
        )
    )
    monitor.submission_file = cfg["submission"]
    monitor.display_name = cfg["display_name"]
    monitor.start_watchdog()
    _patch_sleep(monitor)
    _compat.apply()
    if not cfg.get("isolate", False):
        _netguard.install()
    _property.set_replay(cfg.get("scenarios"), record=bool(cfg.get("record_scenarios")))
    session().watched = _tamper.snapshot()
    asyncio.set_event_loop_policy(_Policy())
    logging.getLogger("asyncio").addHandler(_LoopErrors())
    logging.getLogger("asyncio").propagate = False


def _select(config: pytest.Config, items: list[pytest.Item], only: str) -> list[str]:
    """Keep the checks whose title or test name contains ``only`` (any case).

    Returns every check's title, for the message when nothing matched.
    """
    want = only.casefold()
    kept, dropped, titles = [], [], []
    for item in items:
        mark = item.get_closest_marker("kata_check")
        title = str(mark.kwargs.get("name", "")) if mark is not None else ""
        titles.append(title or item.name)
        if want in title.casefold() or want in item.name.casefold():
            kept.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
    return titles


# A check that runs a sweep or a property replays its scenario dozens of times.
_GENERATED = frozenset({"sweep", "forall"})


def _cost(item: pytest.Item) -> int:
    """A rough, static cost: generated checks weigh like many plain ones.

    Read from the names the check's code uses (``kata.sweep(...)`` puts
    ``sweep`` there), not its source: ``inspect.getsource`` tokenised every
    check and cost each grading about 8 ms.
    """
    fn = getattr(item, "obj", None)
    code = getattr(inspect.unwrap(fn), "__code__", None) if callable(fn) else None
    if code is None:
        return 1
    return 8 if _GENERATED.intersection(code.co_names) else 1


def _share(items: list[pytest.Item], index: int, count: int) -> set[int]:
    """The ids of the items shard ``index`` of ``count`` runs.

    Every shard computes the same split from the suite alone (so the union is
    the whole suite, once): heaviest first, each to the least loaded shard,
    ties by suite order, so the shards end at about the same time.
    """
    loads = [0] * count
    mine: set[int] = set()
    costs = [_cost(item) for item in items]
    ranked = sorted(range(len(items)), key=lambda i: (-costs[i], i))
    for i in ranked:
        item = items[i]
        target = min(range(count), key=lambda k: loads[k])
        loads[target] += costs[i]
        if target == index:
            mine.add(id(item))
    return mine


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _has_session():
        return
    every: list[str] = []
    if _only:
        every = _select(config, items, _only[0])
    order = {id(item): i for i, item in enumerate(items)}
    if _shard:
        index, count = _shard
        mine = _share(items, index, count)
        dropped = [item for item in items if id(item) not in mine]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if id(item) in mine]
    checks = []
    for item in items:
        mark = item.get_closest_marker("kata_check")
        if mark is None or not isinstance(item, pytest.Function):
            raise pytest.UsageError(f"{item.nodeid}: a hidden-suite test needs @kata.check(...)")
        checks.append(
            {
                "nodeid": item.nodeid,
                "name": mark.kwargs["name"],
                "group": mark.kwargs["group"],
                "weight": mark.kwargs.get("weight", 1.0),
                "hint": mark.kwargs.get("hint"),
                "order": order[id(item)],
            }
        )
        original = item.obj
        if asyncio.iscoroutinefunction(original):
            item.obj = guarded(original, _state_getter(item))
        else:
            item.obj = guarded_sync(original, _state_getter(item))
    # Everything alive now (pytest, the suite) stays alive: keep it out of
    # every later collection so collections inside checks stay short.
    gc.freeze()
    sandbox = "namespaces" if session().isolated else "process"
    _send({"type": "collected", "checks": checks, "sandbox": sandbox, "every": every})


def _has_session() -> bool:
    try:
        session()
    except RuntimeError:
        return False
    return True


def _state_getter(item: pytest.Item) -> Any:
    return lambda: item.stash[_KEY]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, Any, Any]:
    leak_at = item.get_closest_marker("leak_gate_at")
    horizon = item.get_closest_marker("horizon")
    state = CheckState(
        nodeid=item.nodeid,
        realtime=item.get_closest_marker("realtime") is not None,
        allow_blocking=item.get_closest_marker("allow_blocking") is not None,
        leak_gate_at=float(leak_at.args[0]) if leak_at else None,
        horizon=float(horizon.args[0]) if horizon else 600.0,
    )
    item.stash[_KEY] = state
    item.stash[_PHASES] = {}
    session().check = state
    session().monitor.abandon()
    try:
        return (yield)
    finally:
        # Fixtures are gone now: what they kept alive (a probe holding a
        # traceback holding a task) is collected here, so a "never retrieved"
        # log is charged to this check and not to the next one.
        seen = len(state.loop_errors)
        gc.collect()
        _late_leaks(state, seen)
        replaced = _tamper.verify(session().watched)
        if replaced:
            state.gate = "tamper"
            state.gate_message = (
                f"tampering: your code replaced {', '.join(replaced)}. The grader's clock, "
                "probes and test runner are out of the submission's reach; they were put back "
                "and this exercise scores 0"
            )
        session().check = None
        _send(_outcome(item, state, item.stash[_PHASES]))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    # KeyboardInterrupt and SystemExit escape the event loop itself (Task.__step
    # re-raises them); left alone they would end the whole session.
    try:
        return (yield)
    except (KeyboardInterrupt, SystemExit) as exc:
        session().monitor.abandon()
        raise AssertionError(
            f"your code raised {type(exc).__name__} inside the event loop; it stops the whole "
            "program and must not be used for control flow"
        ) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    if call.when == "call":
        # Fixtures are dropped after teardown: take the probes' record now.
        item.stash[_PHASES]["timeline"] = _timeline(item)
    if call.excinfo is not None and not report.skipped:
        item.stash[_PHASES].setdefault("error", (call.when, call.excinfo))
    if report.skipped:
        item.stash[_PHASES]["skipped"] = (
            str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else "skipped"
        )
    return report


def _late_leaks(state: CheckState, seen: int) -> None:
    late = [
        str(ctx.get("message", ""))
        for ctx in state.loop_errors[seen:]
        if "StreamReaderProtocol" not in repr(ctx)
    ]
    if late and state.gate is None:
        state.gate = "leak"
        state.gate_message = "leak gate: asyncio logged: " + "; ".join(dict.fromkeys(late))
        state.late_leak = True


def _where(tb: Any) -> str | None:
    sub = session().submission_path
    shown = session().display_name
    for fs in reversed(traceback.extract_tb(tb)):
        if fs.filename == sub:
            return f"{shown}:{fs.lineno}"
    return None


def _explain(exc: BaseException) -> tuple[str, str | None]:
    """A learner-facing message and a location for an exception a check ended with."""
    if isinstance(exc, SubmissionError | Deadlock | BusyWait):
        return str(exc), None
    text = str(exc)
    if isinstance(exc, AssertionError) and text:
        return text.split("\nassert ")[0], None
    if "Timeout" in type(exc).__name__ or text.startswith("Timeout"):
        loc = session().monitor.display(session().monitor.last_seen())
        seen = f" (last seen running {loc})" if loc else ""
        return (
            "this check did not finish within its real-time limit: an infinite loop, or "
            f"code that never gives control back to the event loop{seen}",
            None,
        )
    where = _where(exc.__traceback__)
    at = f" at {where}" if where else ""
    if isinstance(exc, AssertionError):
        return f"a check assertion failed{at}: {exc!r}", where
    return (
        f"your code raised {type(exc).__name__}: {text}{at}"
        if text
        else f"your code raised {type(exc).__name__}{at}",
        where,
    )


def _timeline(item: pytest.Item) -> list[dict[str, Any]]:
    """What the check's probes recorded (at most 60 runs), for the report's timeline."""
    funcargs = getattr(item, "funcargs", {})
    recorder = funcargs.get("probes")
    if not isinstance(recorder, Probes):
        return []
    return [
        {
            "name": r.name,
            "start": r.started,
            "end": r.ended,
            "cancel": r.cancelled,
            "finally": r.finally_at,
        }
        for r in recorder.records[:60]
    ]


def _outcome(item: pytest.Item, state: CheckState, phases: dict[str, Any]) -> dict[str, Any]:
    mark = item.get_closest_marker("kata_check")
    base: dict[str, Any] = {
        "type": "check",
        "nodeid": item.nodeid,
        "name": mark.kwargs["name"] if mark else item.name,
        "group": mark.kwargs["group"] if mark else "behaviour",
        "weight": mark.kwargs.get("weight", 1.0) if mark else 1.0,
        "hint": mark.kwargs.get("hint") if mark else None,
        "gate": state.gate,
        "location": None,
        "notes": state.notes,
        "sim_s": state.sim_s,
        "wall_s": state.wall_s,
        "timeline": phases.get("timeline", []),
        "instruments": state.instruments,
        "expected_end": state.expected_end,
    }
    if state.recorded:
        base["scenarios"] = state.recorded
    if state.not_implemented is not None:
        return base | {
            "status": "failed",
            "gate": None,
            "message": "not implemented yet "
            f"(NotImplementedError raised at {state.not_implemented})",
        }
    error = phases.get("error")
    if state.gate == "tamper" and state.gate_message:
        return base | {"status": "failed", "message": state.gate_message}
    if error is None and state.late_leak and state.gate_message:
        return base | {"status": "failed", "message": state.gate_message}
    if error is None:
        if "skipped" in phases:
            return base | {"status": "skipped", "message": phases["skipped"]}
        return base | {"status": "passed", "message": ""}
    when, excinfo = error
    exc = excinfo.value
    message, location = _explain(exc)
    if state.gate == "blocking" and not isinstance(exc, GateFailure) and state.gate_message:
        message = f"{state.gate_message}\n(then: {message})"
    elif state.gate and not isinstance(exc, GateFailure) and state.gate_message:
        message = f"{message}\nAlso, {state.gate_message}"
    if when == "teardown" and not isinstance(exc, SubmissionError):
        message = f"after the check, cleaning up failed: {message}"
    status = "failed"
    return base | {"status": status, "message": message, "location": location}


@pytest.fixture
def submission() -> ModuleType:
    """The submission, imported afresh for this check."""
    return load_submission()


@pytest.fixture
def probes() -> Probes:
    """A fresh probe recorder for this check."""
    return Probes()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _send({"type": "done", "exitstatus": int(exitstatus)})
