"""The pytest plugin end to end through pytester: clock exactness and every gate.

Each test writes a one-check suite and a submission, runs pytest in a
subprocess with only the grader's plugin and pytest-asyncio, and reads the
outcome and the learner message from pytest's own report.
"""

from __future__ import annotations

import json
import textwrap

import pytest

HEADER = "import asyncio, time\nfrom grader import kata\n\n"


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    # As in the grading child: no plugin but the ones named.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def go(check_body: str, submission: str, *, marks: str = "", api: dict | None = None):
        sub = pytester.path / "solution.py"
        sub.write_text(textwrap.dedent(submission))
        cfg = pytester.path / "grade.json"
        cfg.write_text(
            json.dumps(
                {
                    "submission": str(sub),
                    "display_name": "solution.py",
                    "exercise": "99",
                    "api": api or {},
                }
            )
        )
        suite = (
            HEADER
            + marks
            + '@kata.check("c", group="timing")\nasync def test_c(submission, probes):\n'
        )
        suite += textwrap.indent(textwrap.dedent(check_body), "    ")
        pytester.makepyfile(test_suite=suite)
        return pytester.runpytest_subprocess(
            "-p",
            "grader.plugin",
            "-p",
            "pytest_asyncio.plugin",
            "--grade-config",
            str(cfg),
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "-p",
            "no:cacheprovider",
        )

    return go


def test_virtual_clock_is_exact(run) -> None:
    result = run(
        """
        t0 = kata.now()
        await submission.work()
        kata.expect_time(t0, 3.6, what="work()", exact=True)
        assert kata.now() == 3.6
        """,
        """
        import asyncio
        async def work():
            for _ in range(36):
                await asyncio.sleep(0.1)
        """,
    )
    result.assert_outcomes(passed=1)


def test_blocking_sleep_is_named_with_file_and_line(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio, time
        async def work():
            await asyncio.sleep(1)
            time.sleep(0.02)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*time.sleep(0.02) was called on the event loop's thread at solution.py:5*"]
    )


def test_cpu_spin_is_caught_as_blocking(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import time
        async def work():
            end = time.thread_time() + 0.1  # CPU time: the same on a loaded machine
            while time.thread_time() < end:
                pass
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*computed for * ms of CPU time without awaiting at solution.py:5*"]
    )


def test_sleep_zero_spin_is_busy_waiting_not_a_hang(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def work():
            done = False
            asyncio.get_running_loop().call_later(1.0, lambda: None)
            while not done:
                await asyncio.sleep(0)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*busy-waiting*solution.py:7*"])


def test_deadlock_lists_where_tasks_wait(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def work():
            await asyncio.Event().wait()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deadlock: at t=0 s every task was waiting*", "*solution.py:4*"])


def test_far_timer_beyond_horizon_is_stuck(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def work():
            await asyncio.sleep(10_000)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*past this check's limit of 600 s*"])


def test_leak_gate_catches_a_task_left_running(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def work():
            asyncio.ensure_future(asyncio.sleep(5))
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*leak gate: 1 task(s) were still running*"])


def test_leak_gate_catches_uncancel_missing(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def work():
            me = asyncio.current_task()
            asyncio.get_running_loop().call_later(0.5, me.cancel)
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                pass
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cancelling() == 1*Task.uncancel()*"])


def test_never_awaited_coroutine_is_an_error(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def helper():
            pass
        async def work():
            helper()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*was never awaited*"])


def test_unretrieved_task_exception_is_an_error(run) -> None:
    result = run(
        "await submission.work()\n",
        """
        import asyncio
        async def boom():
            raise ValueError("lost")
        async def work():
            t = asyncio.ensure_future(boom())
            await asyncio.sleep(0.1)
            del t
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*never retrieved*"])


def test_not_implemented_fails_even_when_caught(run) -> None:
    result = run(
        """
        try:
            await submission.work()
        except RuntimeError:
            pass
        """,
        """
        async def work():
            raise NotImplementedError
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not implemented yet*solution.py:3*"])


def test_missing_function_names_the_signature(run) -> None:
    result = run(
        "await submission.work()\n",
        "async def other():\n    pass\n",
        api={"work": "async def work(n: int) -> None"},
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*solution.py does not define `work`*", "*async def work(n: int) -> None*"]
    )


def test_realtime_check_runs_on_the_real_clock(run) -> None:
    result = run(
        """
        t0 = time.perf_counter()
        await submission.work()
        assert time.perf_counter() - t0 >= 0.05
        """,
        "import asyncio\nasync def work():\n    await asyncio.sleep(0.05)\n",
        marks="@kata.realtime\n",
    )
    result.assert_outcomes(passed=1)


def test_thread_work_is_waited_for_not_jumped_over(run) -> None:
    result = run(
        """
        t0 = kata.now()
        await submission.work()
        assert kata.now() - t0 < 1.0, kata.now()
        """,
        """
        import asyncio, time
        async def work():
            await asyncio.to_thread(time.sleep, 0.05)
        """,
    )
    result.assert_outcomes(passed=1)


def test_sync_check_gets_the_leak_gate(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    sub = pytester.path / "solution.py"
    sub.write_text(
        "import asyncio\nasync def helper():\n    pass\n"
        "def run(loop_factory):\n    loop = loop_factory()\n    helper()\n    loop.close()\n"
    )
    cfg = pytester.path / "grade.json"
    cfg.write_text(
        json.dumps({"submission": str(sub), "display_name": "solution.py", "exercise": "99"})
    )
    pytester.makepyfile(
        test_suite=HEADER
        + '@kata.check("c", group="behaviour")\ndef test_c(submission):\n'
        + "    submission.run(kata.virtual_loop)\n"
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "grader.plugin",
        "-p",
        "pytest_asyncio.plugin",
        "--grade-config",
        str(cfg),
        "-o",
        "asyncio_mode=auto",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*leak gate*was never awaited*"])


SWEPT = """
async def scenario(runs):
    return await submission.work()

tried = await kata.sweep(scenario, what="work()")
assert tried == 4, tried  # at 0, 0.5, 1 and 1.5 s
"""


def test_sweep_passes_a_submission_that_lets_every_cancel_through(run) -> None:
    result = run(
        SWEPT,
        """
        import asyncio
        async def work():
            await asyncio.sleep(1)
            await asyncio.sleep(1)
            return 1
        """,
    )
    result.assert_outcomes(passed=1)


def test_sweep_names_the_instant_even_when_a_base_exception_group_escapes(run) -> None:
    # Every cancel comes out as a BaseExceptionGroup, which the sweep must report
    # at the first instant instead of letting it escape the check.
    result = run(
        SWEPT,
        """
        import asyncio
        async def work():
            try:
                await asyncio.sleep(1)
                await asyncio.sleep(1)
            except asyncio.CancelledError as exc:
                raise BaseExceptionGroup("cleanup failed", [exc]) from None
            return 1
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cancellation sweep: work() cancelled 0 s after it started (cancel point 1 of 4)*"
            "raised BaseExceptionGroup*"
        ]
    )


def test_wait_for_never_loses_a_cancel_that_lands_as_it_finishes(run) -> None:
    # The cancel and the end of the awaited sleep fall in one instant. Python
    # 3.11's own wait_for returned "done" here (CPython gh-86296); the grading
    # child installs 3.12's, so every Python gives the same verdict.
    result = run(
        """
        t = asyncio.ensure_future(submission.caller())
        await asyncio.sleep(1)
        t.cancel()
        try:
            got = await t
        except asyncio.CancelledError:
            return
        kata.fail(f"wait_for returned {got!r}: the cancel was lost")
        """,
        """
        import asyncio
        async def inner():
            await asyncio.sleep(1)
            return "done"
        async def caller():
            return await asyncio.wait_for(inner(), 5)
        """,
    )
    result.assert_outcomes(passed=1)


def _plain(x):
    return x


def _generated(x):
    return kata.sweep(x)  # noqa: F821 - never called: only the names it uses are read


class _FakeItem:
    def __init__(self, obj) -> None:
        self.obj = obj


def test_shards_split_the_suite_once_with_generated_checks_apart() -> None:
    # A suite spread over two children: each check runs in exactly one shard, and
    # the sweeps and properties (many scenarios each) go to different shards.
    from grader.plugin import _share

    items = [_FakeItem(f) for f in (_plain, _generated, _plain, _plain, _generated, _plain)]
    shares = [_share(items, k, 2) for k in range(2)]  # type: ignore[arg-type]
    assert shares[0].isdisjoint(shares[1])
    assert shares[0] | shares[1] == {id(i) for i in items}
    heavy = [id(items[1]), id(items[4])]
    assert [sum(h in s for h in heavy) for s in shares] == [1, 1]
    # One shard: everything; the split does not depend on which shard asks.
    assert _share(items, 0, 1) == {id(i) for i in items}  # type: ignore[arg-type]


def test_the_submission_is_compiled_once_but_read_for_every_check(tmp_path) -> None:
    # Every check imports the submission afresh; its code is compiled once per
    # content, and a submission that rewrote its own file runs the new code.
    from grader.plugin._submission import _code

    path = tmp_path / "solution.py"
    path.write_text("x = 1\n")
    first = _code(str(path))
    assert _code(str(path)) is first
    assert first.co_filename == str(path)
    path.write_text("x = 2\n")
    namespace: dict[str, object] = {}
    exec(_code(str(path)), namespace)
    assert namespace["x"] == 2
    path.write_text("x = (\n")
    with pytest.raises(SyntaxError) as info:
        _code(str(path))
    assert info.value.lineno == 1 and info.value.filename == str(path)
