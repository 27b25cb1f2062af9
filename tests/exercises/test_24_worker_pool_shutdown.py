"""Hidden suite for exercise 24: WorkerPool, graceful shutdown, and signal handlers.

Every pool check runs on the virtual clock with probe jobs (each run records
when it started, ended, saw a cancellation and ran its ``finally``). The signal
checks stay virtual too: the check raises a real signal in its own process
(``signal.raise_signal``), which asyncio turns into a loop callback at that very
loop instant. Before installing anything, each signal check puts its own
``signal.signal`` handlers in place and restores the originals afterwards.

One check (@realtime) starts a real Python process that runs a pool with the
learner's handlers, sends it SIGINT, and watches it exit. Signal checks are
POSIX only: elsewhere they are reported as skipped.

Waits on the learner's Futures and on ``shutdown()`` are bounded, so a Future
that is never resolved is reported as such instead of hanging the check.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from grader import kata

POSIX = sys.platform != "win32"
BOUND = 30.0  # loop seconds to wait for a Future or a shutdown before calling it stuck

# E2E: the real process, its grace period and the real-time window of its exit.
E2E_GRACE = 1.0
E2E_EXIT_WITHIN = 2.0  # 2x the grace period: interpreter exit included, on a busy machine
E2E_READY_WITHIN = 5.0


def _skip_unless_posix() -> None:
    if not POSIX:
        pytest.skip(
            "signal handling through the event loop is POSIX only (loop.add_signal_handler)"
        )


def _states(futs: list[asyncio.Future[Any]]) -> str:
    out = []
    for i, f in enumerate(futs):
        if not f.done():
            out.append(f"#{i} pending")
        elif f.cancelled():
            out.append(f"#{i} cancelled")
        elif f.exception() is not None:
            out.append(f"#{i} failed ({type(f.exception()).__name__})")
        else:
            out.append(f"#{i} -> {f.result()!r}")
    return ", ".join(out)


async def _submit_all(pool: Any, factories: list[Callable[[], Any]]) -> list[asyncio.Future[Any]]:
    futs = []
    for i, factory in enumerate(factories):
        fut = await pool.submit(factory)
        kata.expect(
            isinstance(fut, asyncio.Future),
            f"pool.submit(job #{i}) returned {fut!r}; it must return the job's asyncio.Future "
            "(loop.create_future()), to be resolved with the job's result",
        )
        futs.append(fut)
    return futs


async def _resolved(futs: list[asyncio.Future[Any]], what: str, hint: str) -> float:
    """Wait (bounded) until every Future is done; the loop time when the last one was."""
    finished: list[float] = []
    for f in futs:
        f.add_done_callback(lambda _f: finished.append(kata.now()))
    _, pending = await asyncio.wait(futs, timeout=BOUND)
    if pending:
        kata.fail(
            f"{what}: {len(pending)} of {len(futs)} Futures were still unresolved {BOUND:g} s "
            f"later ({_states(futs)}): {hint}"
        )
    return max(finished) if finished else kata.now()


async def _shutdown(pool: Any, what: str = "pool.shutdown()", **kwargs: Any) -> None:
    try:
        async with asyncio.timeout(BOUND):
            await pool.shutdown(**kwargs)
    except TimeoutError:
        kata.fail(
            f"{what} had not returned {BOUND:g} s later: once the queue is drained (or the "
            "timeout passed and everything was cancelled) stop the workers and return"
        )


async def _pool_stopped(what: str) -> None:
    """Fail unless every task but this check's own is finished once this instant settles."""
    me = asyncio.current_task()
    pending: list[asyncio.Task[Any]] = []
    for _ in range(500):
        pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not pending:
            return
        await asyncio.sleep(0)
    names = ", ".join(sorted(t.get_name() for t in pending)[:6])
    kata.fail(
        f"{what}, {len(pending)} task(s) were still running ({names}): by then every worker must "
        "have ended and the pool be closed"
    )


def _records_for(probes: kata.Probes, names: list[str]) -> list[kata.ProbeRecord]:
    return [r for r in probes.records if r.name in names]


class Handlers:
    """The check's own ``signal.signal`` handlers, installed before the learner's code."""

    def __init__(self, sigs: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.sigs = sigs
        self.calls: list[tuple[int, float]] = []
        self.originals: dict[int, Any] = {}
        self.handlers: dict[int, Callable[..., None]] = {}

    def __enter__(self) -> Handlers:
        for sig in self.sigs:
            self.originals[sig] = signal.getsignal(sig)

            def handler(signum: int, frame: Any, _sig: int = sig) -> None:
                self.calls.append((signum, time.monotonic()))

            handler.__qualname__ = f"check_handler_{signal.Signals(sig).name}"
            self.handlers[sig] = handler
            signal.signal(sig, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for sig in self.sigs:
            if loop is not None and hasattr(loop, "remove_signal_handler"):
                with contextlib.suppress(RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
            original = self.originals.get(sig)
            if original is not None:
                signal.signal(sig, original)

    def reached(self, sig: int) -> bool:
        return any(s == sig for s, _ in self.calls)


def _raise(sig: int, when: str) -> None:
    """Raise ``sig`` in this process; a Python exception from a handler is the learner's."""
    name = signal.Signals(sig).name
    try:
        signal.raise_signal(sig)
    except Exception as exc:
        kata.fail(
            f"when {name} arrived {when}, a signal handler raised {type(exc).__name__}: {exc}. "
            "A `signal.signal` handler interrupts whatever the loop is doing, and cannot run "
            "the loop again (asyncio.run inside it fails). Register with "
            "loop.add_signal_handler(sig, callback): the callback runs as an ordinary loop "
            "callback and can start the shutdown as a task"
        )


# -- behaviour -------------------------------------------------------------------


@kata.check(
    "submit returns each job's Future with its result; 2 workers run 2 jobs at once",
    group="behaviour",
    hint=1,
)
async def test_submit_returns_futures(submission, probes):
    pool = submission.WorkerPool(2)
    futs = await _submit_all(pool, probes.jobs([1.0] * 6))
    await _resolved(
        futs,
        "6 jobs of 1.0 s submitted to WorkerPool(2)",
        "are the workers taking jobs from the queue?",
    )
    got = [f.result() if not f.cancelled() and f.exception() is None else f for f in futs]
    kata.expect_equal(
        got,
        [f"result-job{i}" for i in range(6)],
        what="the Futures of 6 jobs submitted to WorkerPool(2)",
        hint="each job's Future holds that job's own result",
    )
    kata.expect(
        probes.peak == 2,
        f"WorkerPool(2) ran at most {probes.peak} job(s) at once; expected exactly 2"
        + (
            ": start `workers` long-lived worker tasks that each take jobs from the queue"
            if probes.peak < 2
            else ": only the 2 workers may run jobs, one job each at a time"
        ),
    )
    await _shutdown(pool)


@kata.check(
    "a failing job fails only its own Future, and the workers survive it",
    group="behaviour",
    hint=2,
)
async def test_workers_survive_job_errors(submission, probes):
    errors = [ValueError("job bad0 failed"), KeyError("bad1")]
    factories = [
        probes.job(0.5, exc=errors[0], name="bad0"),
        probes.job(0.5, exc=errors[1], name="bad1"),
        *probes.jobs([1.0] * 4, prefix="ok"),
    ]
    t0 = kata.now()
    pool = submission.WorkerPool(2)
    futs = await _submit_all(pool, factories)
    done_at = await _resolved(
        futs,
        "2 failing jobs then 4 jobs of 1.0 s on WorkerPool(2)",
        "did a worker die on the failing job? Catch the job's exception in the worker, set it "
        "on that job's Future (fut.set_exception) and take the next job",
    )
    for i, err in enumerate(errors):
        f = futs[i]
        got = "cancelled" if f.cancelled() else f.exception()
        kata.expect(
            got is err,
            f"the Future of failing job #{i} holds {got!r}; expected the very exception the job "
            f"raised, {err!r} (fut.set_exception(exc))",
        )
    later = [f.result() if not f.cancelled() and f.exception() is None else f for f in futs[2:]]
    kata.expect_equal(
        later,
        [f"result-ok{i}" for i in range(4)],
        what="the Futures of the 4 jobs submitted after 2 failing ones",
        hint="a failing job must fail only its own Future",
    )
    ok_runs = _records_for(probes, [f"ok{i}" for i in range(4)])
    overlap = max(
        sum(1 for r in ok_runs if r.started is not None and r.started <= t < (r.ended or t))
        for t in (0.5, 1.5)
    )
    kata.expect(
        overlap == 2 and abs(done_at - t0 - 2.5) <= 0.01,
        f"after 2 jobs failed at t=0.5 s, the 4 jobs of 1.0 s finished at t={done_at - t0:g} s "
        f"with at most {overlap} running at once; with both workers still alive they run 2 at a "
        "time and finish at t=2.5 s: a worker must survive a job's exception",
    )
    await _shutdown(pool)


@kata.check(
    "the first signal starts a graceful shutdown with `grace` as its timeout",
    group="behaviour",
    hint=5,
)
async def test_first_signal_is_graceful(submission, probes):
    _skip_unless_posix()
    with Handlers() as mine:
        t0 = kata.now()
        pool = submission.WorkerPool(2)
        uninstall = submission.install_signal_handlers(pool, grace=1.0)
        futs = await _submit_all(pool, probes.jobs([1.0] * 6))
        await asyncio.sleep(0.5)
        _raise(signal.SIGTERM, "at t=0.5 s")
        await asyncio.sleep(0.1)
        kata.expect(
            not mine.reached(signal.SIGTERM),
            "SIGTERM reached the handler that was installed before install_signal_handlers: "
            "yours never took over. Register each signal with loop.add_signal_handler(sig, ...)",
        )
        try:
            late = await pool.submit(probes.job(1.0, name="late"))
        except submission.PoolClosed:
            pass
        else:
            late.cancel()
            kata.fail(
                "after SIGTERM at t=0.5 s, pool.submit() at t=0.6 s still accepted a job: the "
                "first signal must start the shutdown, which rejects new jobs with PoolClosed"
            )
        done_at = await _resolved(
            futs,
            "6 jobs of 1.0 s on WorkerPool(2), SIGTERM at t=0.5 s with grace=1.0",
            "the graceful shutdown must end at the grace deadline (t=1.5 s), cancelling what "
            "is left",
        )
        first = [futs[0], futs[1]]
        kata.expect(
            all(not f.cancelled() and f.exception() is None for f in first),
            f"after SIGTERM at t=0.5 s with grace=1.0, the two jobs running since t=0 ended as "
            f"{_states(first)}; they should finish normally at t=1.0 s: the first signal starts "
            "a *graceful* shutdown (pool.shutdown(timeout=grace)), it does not cancel at once",
        )
        kata.expect_at(
            done_at,
            t0 + 1.5,
            what="the last Future being resolved (SIGTERM at 0.5 s, grace=1.0)",
            hint="the first signal runs pool.shutdown(timeout=grace): at t=0.5+1.0 s whatever "
            "is still running or queued is cancelled",
        )
        cancelled = [i for i, f in enumerate(futs) if f.cancelled()]
        kata.expect(
            len(cancelled) == 4,
            f"at the grace deadline (t=1.5 s) the 2 running and the 2 queued jobs should be "
            f"cancelled; the Futures ended as {_states(futs)}",
        )
        await _pool_stopped("at t=1.5 s, the end of the grace period")
        uninstall()


@kata.check(
    "the uninstaller puts back the handlers that were there before",
    group="behaviour",
    hint=6,
)
async def test_uninstall_restores_previous_handlers(submission, probes):
    _skip_unless_posix()
    with Handlers() as mine:
        pool = submission.WorkerPool(1)
        uninstall = submission.install_signal_handlers(pool, grace=5.0)
        kata.expect(
            callable(uninstall),
            f"install_signal_handlers returned {uninstall!r}; it must return a function that "
            "uninstalls the handlers",
        )
        uninstall()
        for sig in mine.sigs:
            now_installed = signal.getsignal(sig)
            name = signal.Signals(sig).name
            if now_installed is mine.handlers[sig]:
                continue
            shown = getattr(now_installed, "__qualname__", repr(now_installed))
            default = now_installed in (signal.SIG_DFL, signal.default_int_handler)
            kata.fail(
                f"after the uninstaller ran, the {name} handler is {shown}; expected the handler "
                "installed before install_signal_handlers. "
                + (
                    "loop.remove_signal_handler() puts back the *default* handler, which is not "
                    "enough: save signal.getsignal(sig) first and restore it with "
                    "signal.signal(sig, previous)"
                    if default
                    else "Remove yours with loop.remove_signal_handler(sig), then restore the "
                    "previous one (saved with signal.getsignal) with signal.signal"
                )
            )
        _raise(signal.SIGTERM, "after the uninstaller ran")
        await asyncio.sleep(0.1)
        kata.expect(
            mine.reached(signal.SIGTERM),
            "after the uninstaller ran, SIGTERM did not reach the handler installed before",
        )
        try:
            fut = await pool.submit(probes.job(1.0, name="after"))
        except submission.PoolClosed:
            kata.fail(
                "after the uninstaller ran, a SIGTERM still shut the pool down: uninstalled "
                "handlers must not react any more"
            )
        await _resolved([fut], "a job submitted after the uninstaller ran", "")
        await _shutdown(pool)


_CHILD = r"""
import asyncio, importlib.util, sys

spec = importlib.util.spec_from_file_location("submission", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
sys.modules["submission"] = mod
spec.loader.exec_module(mod)
GRACE = float(sys.argv[2])


async def job(name):
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print(f"job {name} cancelled", flush=True)
        raise
    return name


async def main():
    pool = mod.WorkerPool(2)
    uninstall = mod.install_signal_handlers(pool, grace=GRACE)
    try:
        futs = [await pool.submit(lambda n=n: job(n)) for n in ("a", "b", "c")]
        print("ready", flush=True)
        await asyncio.wait(futs)
        await pool.shutdown()
    finally:
        uninstall()
    states = ["cancelled" if f.cancelled() else repr(f.exception() or f.result()) for f in futs]
    print("futures " + " ".join(states), flush=True)


asyncio.run(main())
"""


def _run_child(path: str) -> dict[str, Any]:
    """Start the child, SIGINT it once it is ready, and time its exit (real time)."""
    proc = subprocess.Popen(
        [sys.executable, "-I", "-B", "-c", _CHILD, path, str(E2E_GRACE)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    sent_at: float | None = None
    exit_at: float | None = None
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + E2E_READY_WITHIN
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line.rstrip("\n"))
            if line.strip() == "ready":
                sent_at = time.monotonic()
                proc.send_signal(signal.SIGINT)
                break
        sel.close()
        if sent_at is not None:
            try:
                proc.wait(timeout=E2E_GRACE + 3.0)
                exit_at = time.monotonic()
            except subprocess.TimeoutExpired:
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
        rest, err = proc.communicate(timeout=10)
    out += rest.splitlines()
    return {
        "code": proc.returncode,
        "out": out,
        "err": err,
        "after": None if sent_at is None or exit_at is None else exit_at - sent_at,
        "sent": sent_at is not None,
    }


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(kept) if kept else "(nothing)"


@kata.realtime
@kata.check(
    "end to end: a real process sent SIGINT shuts down gracefully and exits 0",
    group="behaviour",
    hint=5,
)
async def test_subprocess_sigint_exits_cleanly(submission, probes):
    _skip_unless_posix()
    # In-process first, so an unfinished API is reported as such.
    with Handlers():
        pool = submission.WorkerPool(1)
        uninstall = submission.install_signal_handlers(pool, grace=1.0)
        uninstall()
    await pool.shutdown()
    path = submission.__file__
    run = await asyncio.to_thread(_run_child, path)
    what = (
        f"a Python process running WorkerPool(2) with 3 jobs of 30 s and "
        f"install_signal_handlers(pool, grace={E2E_GRACE})"
    )
    if not run["sent"]:
        kata.fail(
            f"{what} never got ready (it exited with {run['code']}); its output: "
            f"{_tail(chr(10).join(run['out']))}; errors: {_tail(run['err'])}"
        )
    if run["after"] is None:
        kata.fail(
            f"{what} was sent SIGINT and had not exited {E2E_GRACE + 3.0:g} s later: the first "
            f"signal must shut the pool down within its grace period ({E2E_GRACE} s), "
            f"cancelling what is still running then. Errors: {_tail(run['err'])}"
        )
    kata.expect(
        run["code"] == 0,
        f"{what} was sent SIGINT and exited with code {run['code']}; expected 0 (a clean exit). "
        f"Its errors: {_tail(run['err'])}. Is the signal handled through loop.add_signal_handler, "
        "and does the graceful shutdown let the program finish normally?",
    )
    after = run["after"]
    kata.expect(
        after >= E2E_GRACE - 0.01,
        f"{what} exited {after:.3f} s after SIGINT, before its grace period of {E2E_GRACE} s "
        "was over: the first signal must start a graceful shutdown, giving running jobs the "
        "whole grace period before cancelling them",
    )
    kata.expect(
        after <= E2E_EXIT_WITHIN,
        f"{what} exited {after:.3f} s after SIGINT; it should be gone right after its grace "
        f"period of {E2E_GRACE} s (within {E2E_EXIT_WITHIN} s): when the grace period ends, "
        "cancel the running jobs and the queued Futures",
    )
    kata.expect(
        "futures cancelled cancelled cancelled" in run["out"],
        f"{what}: after SIGINT, the 3 job Futures should all end cancelled at the end of the "
        f"grace period; the process printed: {_tail(chr(10).join(run['out']))}",
    )


# -- timing ----------------------------------------------------------------------


@kata.check("6 jobs of 1.0 s on 2 workers take 3.0 s", group="timing", hint=1)
async def test_six_jobs_two_workers(submission, probes):
    t0 = kata.now()
    pool = submission.WorkerPool(2)
    futs = await _submit_all(pool, probes.jobs([1.0] * 6))
    kata.expect_time(
        t0,
        0.0,
        what="submitting 6 jobs to WorkerPool(2) (unbounded queue)",
        hint="with maxsize=0 the queue never fills: submit only queues the job and returns",
    )
    done_at = await _resolved(futs, "6 jobs of 1.0 s on WorkerPool(2)", "are the workers running?")
    kata.expect_at(
        done_at,
        t0 + 3.0,
        what="the last of 6 jobs of 1.0 s on WorkerPool(2) finishing",
        hint="2 workers run 2 jobs at a time: 3.0 s. One at a time takes 6.0 s: does each "
        "worker take a new job as soon as it finished one?",
    )
    kata.expect(
        probes.peak == 2,
        f"WorkerPool(2) ran at most {probes.peak} job(s) at once; expected exactly 2",
    )
    await _shutdown(pool)


@kata.check("with maxsize=2, the 5th submit waits for room until t=1.0 s", group="timing", hint=3)
async def test_full_queue_blocks_submit(submission, probes):
    t0 = kata.now()
    pool = submission.WorkerPool(2, maxsize=2)
    returned: list[float] = []
    futs = []
    for factory in probes.jobs([1.0] * 5):
        futs.append(await pool.submit(factory))
        returned.append(kata.now() - t0)
    shown = ", ".join(f"{t:g}" for t in returned)
    kata.expect(
        all(abs(t) <= 0.01 for t in returned[:4]),
        f"with WorkerPool(2, maxsize=2), the first 4 submits returned at t = {shown} s; all 4 "
        "should return at once: the 2 workers take 2 jobs and 2 more fit in the queue",
    )
    kata.expect(
        abs(returned[4] - 1.0) <= 0.01,
        f"with WorkerPool(2, maxsize=2) and jobs of 1.0 s, the 5th submit returned at "
        f"t={returned[4]:g} s; expected t=1.0 s, when a worker finishes and takes the next job "
        + (
            "off the queue: submit must wait while the queue is full (asyncio.Queue(maxsize) "
            "and `await queue.put(...)`)"
            if returned[4] < 1.0
            else "and the queue has room again"
        ),
    )
    await _resolved(futs, "5 jobs on WorkerPool(2, maxsize=2)", "are the workers running?")
    await _shutdown(pool)


@kata.check("shutdown() at 0.5 s drains every job and returns at 3.0 s", group="timing", hint=4)
async def test_shutdown_drains(submission, probes):
    t0 = kata.now()
    pool = submission.WorkerPool(2)
    futs = await _submit_all(pool, probes.jobs([1.0] * 6))
    await asyncio.sleep(0.5)
    resolved_at_return: list[bool] = []

    async def shut_down() -> None:
        await pool.shutdown()
        resolved_at_return.extend(f.done() for f in futs)  # at the very step it returned

    closer = asyncio.ensure_future(shut_down())
    await asyncio.sleep(0.5)
    try:
        late = await pool.submit(probes.job(1.0, name="late"))
    except submission.PoolClosed:
        pass
    else:
        late.cancel()
        kata.fail(
            "pool.submit() at t=1.0 s, while shutdown() (called at t=0.5 s) was draining, "
            "accepted a job; it must raise PoolClosed"
        )
    done, _ = await asyncio.wait({closer}, timeout=BOUND)
    if not done:
        closer.cancel()
        kata.fail(f"shutdown() called at t=0.5 s had not returned {BOUND:g} s later")
    closer.result()
    kata.expect(
        all(resolved_at_return),
        "when shutdown() returned, some Futures were still unresolved: a graceful shutdown "
        "returns once every job has finished",
    )
    kata.expect_time(
        t0,
        3.0,
        what="shutdown() called at t=0.5 s with 6 jobs of 1.0 s on 2 workers",
        hint="a graceful shutdown drains every queued job: 3.0 s",
        too_fast="it returned before the queued jobs ran: without a timeout, shutdown() waits "
        "for every job (queue.join()) and cancels nothing",
    )
    cut = [r.name for r in probes.records if r.cancelled is not None]
    kata.expect(
        not cut,
        f"shutdown() without a timeout cancelled running jobs {cut}; it must let them finish",
    )
    got = [
        f.result() if f.done() and not f.cancelled() and f.exception() is None else f for f in futs
    ]
    kata.expect_equal(
        got,
        [f"result-job{i}" for i in range(6)],
        what="the Futures after a graceful shutdown()",
        hint="every job submitted before the shutdown runs to its end",
    )
    await _pool_stopped("when shutdown() returned at t=3.0 s")
    again = kata.now()
    await _shutdown(pool, "a second shutdown() after the first one returned")
    kata.expect_time(
        again,
        0.0,
        what="a second shutdown() on a pool already shut down",
        hint="shutdown() is idempotent: the pool is already closed, return at once",
    )


# -- cancellation ----------------------------------------------------------------


@kata.check(
    "shutdown(timeout=1.0) at 0.5 s returns at 1.5 s, cancelling what is left",
    group="cancellation",
    hint=4,
)
async def test_shutdown_timeout_cancels(submission, probes):
    t0 = kata.now()
    pool = submission.WorkerPool(2)
    futs = await _submit_all(pool, probes.jobs([1.0] * 6))
    await asyncio.sleep(0.5)
    await _shutdown(pool, "shutdown(timeout=1.0)", timeout=1.0)
    # What was finished at the very moment shutdown returned (nothing has run since):
    cleaned = {r.name for r in probes.records if r.finally_at is not None}
    resolved = [f.done() for f in futs]
    kata.expect_time(
        t0,
        1.5,
        what="shutdown(timeout=1.0) called at t=0.5 s (6 jobs of 1.0 s, 2 workers)",
        hint="wait for the queue to drain for at most `timeout` seconds, then cancel the running "
        "jobs and the queued Futures, and wait for the cancelled jobs' cleanup",
        too_fast="it must first give the jobs `timeout` seconds to finish",
    )
    kata.expect(
        all(resolved),
        f"when shutdown(timeout=1.0) returned, {resolved.count(False)} of the 6 Futures were "
        "still unresolved: every Future is done (result, or cancelled) before shutdown returns",
    )
    await _pool_stopped("when shutdown(timeout=1.0) returned at t=1.5 s")
    ok = [i for i, f in enumerate(futs) if f.done() and not f.cancelled() and f.exception() is None]
    kata.expect(
        len(ok) == 2,
        f"the 2 jobs running from t=0 to t=1.0 s should finish normally; the Futures ended as "
        f"{_states(futs)}",
    )
    runs = {r.name: r for r in probes.records}
    running = [n for n, r in runs.items() if r.started is not None and r.started > t0 + 0.5]
    kata.expect(
        len(running) == 2,
        f"with 2 workers, 2 more jobs should have started at t=1.0 s; started then: {running}",
    )
    for name in running:
        rec = runs[name]
        kata.expect(
            rec.cancelled is not None and name in cleaned,
            f"job {name!r}, running when the 1.0 s timeout passed at t=1.5 s, should have been "
            f"cancelled with its `finally` done by the time shutdown returned (cancelled at "
            f"{rec.cancelled}, finally at {rec.finally_at}, "
            f"{'after' if name not in cleaned else 'before'} shutdown returned): cancel the "
            "worker running it and await the worker",
        )
        f = futs[int(name.removeprefix("job"))]
        kata.expect(
            f.cancelled(),
            f"the Future of job {name!r}, cancelled while running, ended as "
            f"{_states([f])}; expected it cancelled too (fut.cancel() when the job is "
            "cancelled)",
        )
    never = [i for i in range(6) if f"job{i}" not in runs]
    kata.expect(
        len(never) == 2,
        f"2 jobs should never have started (they were still queued at t=1.5 s); these ran: "
        f"{sorted(runs)}",
    )
    for i in never:
        kata.expect(
            futs[i].cancelled(),
            f"the Future of job{i}, still queued when the timeout passed, ended as "
            f"{_states([futs[i]])}; it must be cancelled (fut.cancel()), or whoever awaits it "
            "waits forever",
        )


@kata.check(
    "a submitter blocked on a full queue gets PoolClosed when shutdown starts",
    group="cancellation",
    hint=3,
)
async def test_blocked_submitter_gets_pool_closed(submission, probes):
    t0 = kata.now()
    pool = submission.WorkerPool(1, maxsize=1)
    futs = await _submit_all(pool, probes.jobs([1.0, 1.0]))
    outcome: dict[str, Any] = {}

    async def blocked() -> None:
        try:
            fut = await pool.submit(probes.job(1.0, name="blocked"))
        except submission.PoolClosed:
            outcome["raised"] = kata.now()
        except BaseException as exc:
            outcome["other"] = exc
            raise
        else:
            outcome["accepted"] = (kata.now(), fut)

    submitter = asyncio.create_task(blocked())
    await asyncio.sleep(0.5)
    closer = asyncio.ensure_future(pool.shutdown())
    await asyncio.wait({submitter}, timeout=BOUND)
    if "accepted" in outcome:
        at, fut = outcome["accepted"]
        fut.cancel()
        kata.fail(
            f"a submit() blocked on the full queue when shutdown() started at t=0.5 s returned "
            f"a Future at t={at - t0:g} s; it must raise PoolClosed as soon as the shutdown starts"
        )
    if "other" in outcome:
        exc = outcome["other"]
        kata.fail(
            f"a submit() blocked on the full queue raised {type(exc).__name__}: {exc} when "
            "shutdown() started; expected PoolClosed"
        )
    if "raised" not in outcome:
        submitter.cancel()
        kata.fail(
            f"a submit() blocked on the full queue when shutdown() started at t=0.5 s was still "
            f"blocked {BOUND:g} s later: wake blocked submitters when the shutdown starts and "
            "raise PoolClosed"
        )
    kata.expect_at(
        outcome["raised"],
        t0 + 0.5,
        what="the blocked submit() raising PoolClosed",
        hint="a submitter waiting for room must be woken when shutdown() starts, not when room "
        "frees up",
    )
    done, _ = await asyncio.wait({closer}, timeout=BOUND)
    if not done:
        closer.cancel()
        kata.fail(f"shutdown() called at t=0.5 s had not returned {BOUND:g} s later")
    closer.result()
    kata.expect_time(t0, 2.0, what="the graceful shutdown draining the 2 accepted jobs")
    kata.expect(
        all(f.done() and not f.cancelled() and f.exception() is None for f in futs),
        f"the 2 jobs accepted before the shutdown should finish normally: {_states(futs)}",
    )


@kata.check(
    "a second signal at 0.7 s closes the pool at once",
    group="cancellation",
    hint=5,
)
async def test_second_signal_forces_close(submission, probes):
    _skip_unless_posix()
    with Handlers() as mine:
        t0 = kata.now()
        pool = submission.WorkerPool(2)
        uninstall = submission.install_signal_handlers(pool, grace=10.0)
        futs = await _submit_all(pool, probes.jobs([1.0] * 6))
        await asyncio.sleep(0.5)
        _raise(signal.SIGTERM, "at t=0.5 s")
        await asyncio.sleep(0.2)
        early = [r.name for r in probes.records if r.cancelled is not None]
        kata.expect(
            not early,
            f"after one SIGTERM (grace=10.0) jobs {early} were cancelled by t=0.7 s: the first "
            "signal starts a *graceful* shutdown",
        )
        _raise(signal.SIGTERM, "again at t=0.7 s")
        kata.expect(
            not mine.reached(signal.SIGTERM),
            "SIGTERM reached the handler that was installed before install_signal_handlers: "
            "yours never took over. Register each signal with loop.add_signal_handler(sig, ...)",
        )
        done_at = await _resolved(
            futs,
            "6 jobs of 1.0 s on WorkerPool(2), SIGTERM at 0.5 s and again at 0.7 s",
            "the second signal must cancel the running jobs and the queued Futures at once",
        )
        kata.expect_at(
            done_at,
            t0 + 0.7,
            what="every Future being resolved after the second SIGTERM",
            hint="the second signal forces an immediate shutdown: cancel the running jobs and "
            "the queued Futures right away (shutdown with timeout 0, say)",
        )
        for rec in probes.records:
            if rec.started is not None:
                kata.expect(
                    rec.finally_at is not None and rec.finally_at <= t0 + 0.7 + 1e-9,
                    f"job {rec.name!r} was still running after the second SIGTERM at t=0.7 s "
                    f"(finally at {rec.finally_at}): cancel the running jobs at once",
                )
        kata.expect(
            all(f.cancelled() for f in futs),
            f"after the second signal every Future should be cancelled; they ended as {_states(futs)}",
        )
        await _pool_stopped("at t=0.7 s, right after the second signal")
        uninstall()


@kata.check(
    "`async with`: a clean exit drains, a raising body stops everything at once",
    group="cancellation",
    hint=4,
)
async def test_async_with_exit(submission, probes):
    t0 = kata.now()
    futs: list[asyncio.Future[Any]] = []
    async with submission.WorkerPool(2) as pool:
        kata.expect(
            isinstance(pool, submission.WorkerPool),
            f"`async with WorkerPool(2) as pool` bound pool to {pool!r}; __aenter__ must return the pool",
        )
        futs = await _submit_all(pool, probes.jobs([1.0] * 3, prefix="calm"))
    kata.expect_time(
        t0,
        2.0,
        what="leaving `async with WorkerPool(2)` normally with 3 jobs of 1.0 s queued",
        hint="a clean exit is a graceful shutdown: it waits for every job",
    )
    kata.expect(
        all(f.done() and not f.cancelled() and f.exception() is None for f in futs),
        f"after a clean `async with` exit, the jobs should have finished: {_states(futs)}",
    )
    await _pool_stopped("when `async with` was left normally")

    t1 = kata.now()
    boom = RuntimeError("the body failed")
    futs = []
    try:
        async with submission.WorkerPool(2) as pool:
            futs = await _submit_all(pool, probes.jobs([1.0] * 3, prefix="hot"))
            await asyncio.sleep(0.5)
            raise boom
    except RuntimeError as exc:
        kata.expect(
            exc is boom,
            f"the body's RuntimeError came out as {exc!r}: let the very exception propagate",
        )
    else:
        kata.fail("the body of `async with WorkerPool(2)` raised, but the exception was swallowed")
    kata.expect_time(
        t1,
        0.5,
        what="leaving `async with WorkerPool(2)` by an exception at t=0.5 s",
        hint="if the body raised, shut down at once: cancel the running jobs and queued Futures",
    )
    for rec in probes.records:
        if rec.name.startswith("hot"):
            kata.expect(
                rec.finally_at is not None and rec.finally_at <= t1 + 0.5 + 1e-9,
                f"job {rec.name!r} was still running after the body raised at t=0.5 s; an "
                "exception in the body must cancel the running jobs (and await their cleanup)",
            )
    kata.expect(
        all(f.cancelled() for f in futs),
        f"after the body raised, the Futures ended as {_states(futs)}; expected all cancelled",
    )
    await _pool_stopped("when `async with` was left by an exception")
