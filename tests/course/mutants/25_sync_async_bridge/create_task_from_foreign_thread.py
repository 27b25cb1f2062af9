"""Mutant: submit() calls loop.create_task() from the caller's thread.

Nothing wakes the loop sleeping in select(), and the loop's internals are
touched from a foreign thread: the coroutines never run.

Targets: test_one_loop_one_thread, test_concurrent_submits
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread, fed from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()

    def start(self) -> None:
        """Start the thread and return once its loop is running."""
        if self._thread is not None:
            raise RuntimeError("this LoopThread was already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="LoopThread", daemon=True)
        self._thread.start()
        self._running.wait()

    def _main(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.call_soon(self._running.set)
        try:
            loop.run_forever()
        finally:
            # stop() landed here: what is still pending gets cancelled and may clean
            # up (await in its finally) before the loop closes, as asyncio.run does.
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def _in_loop_thread(self) -> bool:
        return self._thread is not None and threading.get_ident() == self._thread.ident

    def _require_running(self, coro: Coroutine[Any, Any, Any]) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or loop.is_closed() or self._thread is None or not self._thread.is_alive():
            coro.close()  # never run: close it, or Python warns it was never awaited
            raise RuntimeError("the LoopThread is not running (call start() first)")
        return loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread; its concurrent Future."""
        loop = self._require_running(coro)
        # run_coroutine_threadsafe wakes the loop (call_soon_threadsafe) and chains the
        # Futures both ways: fut.cancel() here cancels the task there.
        task = loop.create_task(coro)  # from the caller's thread!
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def copy(t: asyncio.Task[T]) -> None:
            if t.cancelled():
                fut.cancel()
            elif t.exception() is not None:
                fut.set_exception(t.exception())  # type: ignore[arg-type]
            else:
                fut.set_result(t.result())

        task.add_done_callback(copy)
        fut.add_done_callback(lambda f: f.cancelled() and loop.call_soon_threadsafe(task.cancel))
        return fut

    def call(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and block for its result."""
        if self._in_loop_thread():
            coro.close()
            raise RuntimeError(
                "LoopThread.call() from the loop's own thread would wait for itself forever; "
                "await the coroutine instead"
            )
        fut = self.submit(coro)
        try:
            return fut.result(timeout)
        except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError (3.11+)
            fut.cancel()  # cancel the remote coroutine, then raise
            raise

    def stop(self, *, timeout: float = 5.0) -> None:
        """Cancel pending work, let it clean up, close the loop and join the thread."""
        if self._thread is None or self._loop is None:
            return
        if self._in_loop_thread():
            raise RuntimeError("LoopThread.stop() cannot be called from the loop's own thread")
        if not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._loop.stop)
            except RuntimeError:  # closed in the meantime
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the loop thread did not stop within {timeout} s")


def _refuse_inside_running_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{name}() blocks until it has a result: called inside a running event loop it would "
        "freeze that loop (or deadlock). In async code, use the async class and await it"
    )


def _mirror(name: str, method: Any) -> Any:
    @functools.wraps(method)  # same name, docstring, and (through __wrapped__) signature
    def blocking(self: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_inside_running_loop(name)
        runner = self._runner
        if runner is None:
            raise RuntimeError(f"{type(self).__name__} is closed")
        return runner.call(getattr(self._core, name)(*args, **kwargs))

    return blocking


def make_sync(async_cls: type) -> type:
    """Build the blocking facade of ``async_cls``: one core on a private LoopThread."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._runner = None
        runner = LoopThread()
        runner.start()
        try:
            self._core = async_cls(*args, **kwargs)
        except BaseException:
            runner.stop()
            raise
        self._runner = runner

    mirrors = {
        name: _mirror(name, member)
        for name, member in inspect.getmembers(async_cls)
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    core_close = mirrors.pop("close", None)  # an async close() of the core runs first

    def close(self: Any) -> None:
        """Stop the private loop thread (pending work is cancelled and cleaned up)."""
        if getattr(self, "_runner", None) is None:
            return
        try:
            if core_close is not None:
                core_close(self)
        finally:
            runner, self._runner = self._runner, None
            runner.stop()

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self: Any, *exc: object) -> None:
        self.close()

    namespace: dict[str, Any] = {
        "__init__": __init__,
        "close": close,
        "__enter__": __enter__,
        "__exit__": __exit__,
        "__doc__": async_cls.__doc__,
        "__module__": async_cls.__module__,
    }
    namespace.update(mirrors)
    return type(f"Sync{async_cls.__name__}", (), namespace)
