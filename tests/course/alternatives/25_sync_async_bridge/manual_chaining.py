"""Alternative: call_soon_threadsafe plus hand-made Future chaining; a type()-built facade.

The loop thread creates each task itself (a callback handed over with
call_soon_threadsafe), and the two Futures are chained by hand: the task's
outcome is copied to the concurrent Future, and cancelling the concurrent
Future cancels the task on the loop's thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import threading
from typing import Any


class LoopThread:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        started = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for t in tasks:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=main, daemon=True, name="bridge-loop")
        self._thread.start()
        started.wait()

    def submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        loop = self._loop
        assert loop is not None
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def copy_outcome(task: asyncio.Task[Any]) -> None:
            if result.done():
                return
            # (No set_running_or_notify_cancel() before the end: a RUNNING concurrent
            # Future can no longer be cancelled by its caller.)
            if task.cancelled():
                result.cancel()
            elif task.exception() is not None:
                result.set_exception(task.exception())
            else:
                result.set_result(task.result())

        def begin() -> None:  # runs on the loop's thread
            if result.cancelled():
                coro.close()  # cancelled before it started
                return
            task = loop.create_task(coro)
            task.add_done_callback(copy_outcome)

            def on_cancel(f: concurrent.futures.Future[Any]) -> None:
                if f.cancelled():
                    loop.call_soon_threadsafe(task.cancel)

            result.add_done_callback(on_cancel)

        loop.call_soon_threadsafe(begin)
        return result

    def call(self, coro: Any, *, timeout: float | None = None) -> Any:
        if self._thread is not None and threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("call() on the loop thread would deadlock")
        fut = self.submit(coro)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise

    def stop(self, *, timeout: float = 5.0) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)


def make_sync(async_cls: type) -> type:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._bridge = LoopThread()
        self._bridge.start()
        self._core = async_cls(*args, **kwargs)

    def close(self) -> None:
        bridge = self.__dict__.pop("_bridge", None)
        if bridge is not None:
            bridge.stop()

    def wrapper_for(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def method(self, *args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise RuntimeError(f"{name}() would block the running event loop")
            return self._bridge.call(getattr(self._core, name)(*args, **kwargs))

        return method

    namespace: dict[str, Any] = {
        "__init__": __init__,
        "close": close,
        "__enter__": lambda self: self,
        "__exit__": lambda self, *exc: self.close(),
    }
    for name, fn in vars(async_cls).items():
        if not name.startswith("_") and inspect.iscoroutinefunction(fn):
            namespace[name] = wrapper_for(name, fn)
    return type("Sync" + async_cls.__name__, (), namespace)
