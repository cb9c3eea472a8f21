"""A private event loop on a daemon thread: the home of the resolver's async SDK clients and credential.

The sync API submits coroutines to it and waits, so it works the same from a plain script, from inside a running
event loop (a FastAPI start-up hook, a notebook cell) and from several threads at once; the async API awaits the
same coroutines through ``asyncio.wrap_future``. SDK clients live on one loop for their whole life, as aiohttp needs.

Closing is final: work still running on the loop is cancelled (its callers get a ``RuntimeError`` saying so, instead
of waiting forever on a loop that no longer runs), the ``final`` coroutine closes what lives on the loop, and the
thread, its worker threads and the loop are shut down and joined. A closed loop thread never starts again.

A loop thread does not survive ``fork()``: the child has the loop object but not the thread running it. A fork hook
(``os.register_at_fork``) marks every started loop thread in the child as forked: using it raises a ``RuntimeError``
that says to make a new resolver after the fork, and closing it (at exit, say) returns at once instead of waiting on
a loop nobody runs. A resolver never used before the fork starts its loop in the child as usual.

Closing is bounded by ``close_timeout``. A worker thread stuck in a blocking call (a DNS lookup that hangs, say)
cannot be interrupted: the loop stops waiting for it when the time is up, so ``close()`` returns and the loop thread
ends; the worker finishes its call on its own and exits then. (A sync credential's calls do not even run here: see
``_credentials.py``.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["DEFAULT_CLOSE_TIMEOUT", "Closer", "LoopThread"]

logger = logging.getLogger("kvconfig")

T = TypeVar("T")
Closer = Callable[[], Coroutine[Any, Any, object]]

_CLOSED = "This SecretResolver is closed; create a new one."
_CLOSED_WHILE_RUNNING = "This SecretResolver was closed while the call was running."
_FORKED = (
    "This SecretResolver was used before the process forked (in process {parent}); its event loop thread does not "
    "survive a fork. Make a new SecretResolver in this process after the fork (gunicorn's post_fork hook, the "
    "worker's start-up hook), or resolve before forking and close the resolver then."
)
DEFAULT_CLOSE_TIMEOUT = 5.0

_started: weakref.WeakSet[LoopThread] = weakref.WeakSet()  # loop threads with a running thread, for the fork hook


class LoopThread:
    """Starts lazily; ``close()`` cancels what still runs, stops the loop and joins the thread, within
    ``close_timeout`` seconds."""

    def __init__(self, name: str = "kvconfig-resolver", *, close_timeout: float = DEFAULT_CLOSE_TIMEOUT) -> None:
        if close_timeout <= 0:
            raise ValueError("close_timeout must be positive.")
        self._name = name
        self.close_timeout = close_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        self._forked_from: int | None = None  # the parent's pid, in a child forked after the loop started
        self._close_deadline = 0.0  # time.monotonic() by which close() returns

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            return self._start()

    def _start(self) -> asyncio.AbstractEventLoop:
        # Called with the lock held.
        if self._forked_from is not None:
            raise RuntimeError(_FORKED.format(parent=self._forked_from))
        if self._closed:
            raise RuntimeError(_CLOSED)
        if self._loop is None:
            ready = threading.Event()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_serve, args=(loop, ready, self._time_left_for_workers), name=self._name, daemon=True
            )
            thread.start()
            ready.wait()
            self._loop, self._thread = loop, thread
            self._pid = os.getpid()
            _started.add(self)
        return self._loop

    def _after_fork_in_child(self) -> None:
        # Only this thread exists now. The lock may have been held by a thread that is gone: replace it. The loop and
        # its thread are the parent's: forget them (never close the loop here, its selector is the parent's too).
        self._lock = threading.Lock()
        if self._loop is not None and not self._closed:
            self._forked_from = self._pid
            self._closed = True
        self._loop = self._thread = None

    def _time_left(self) -> float:
        return max(0.0, self._close_deadline - time.monotonic())

    def _time_left_for_workers(self) -> float:
        # A tenth of the close timeout is kept for closing the loop and ending the thread after the workers.
        return max(0.0, self._close_deadline - self.close_timeout / 10 - time.monotonic())

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def forked(self) -> bool:
        """Whether this is a child process that inherited the loop from its parent (unusable here)."""
        return self._forked_from is not None

    def in_loop_thread(self) -> bool:
        thread = self._thread
        return thread is not None and threading.current_thread() is thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        # Under the lock: a close() that follows is ordered after this submission, so it cancels what was submitted
        # rather than leaving it on a stopped loop.
        with self._lock:
            try:
                loop = self._start()
            except BaseException:
                coro.close()
                raise
            return asyncio.run_coroutine_threadsafe(coro, loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop thread and wait for its result (from any thread but that one)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(
                "A SecretResolver's sync API was called from its own event loop (for example inside a change "
                "listener); use the async API there."
            )
        future = self.submit(coro)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            if self._closed:
                raise RuntimeError(_CLOSED_WHILE_RUNNING) from None
            raise

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop thread from another event loop (or directly when already on it)."""
        if self.in_loop_thread():
            return await coro
        future = self.submit(coro)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if self._closed and future.cancelled():
                raise RuntimeError(_CLOSED_WHILE_RUNNING) from None
            raise

    def _start_shutdown(
        self, final: Closer | None
    ) -> tuple[asyncio.AbstractEventLoop, threading.Thread, concurrent.futures.Future[None]] | None:
        """Mark closed (once) and schedule the shutdown on the loop; what the caller must wait for, or None.

        None when already closed, never started, or called from the loop thread itself (then the shutdown is only
        scheduled: waiting for it there would deadlock).
        """
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            self._close_deadline = time.monotonic() + self.close_timeout
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return None
        done = asyncio.run_coroutine_threadsafe(_shutdown(loop, final), loop)
        if threading.current_thread() is thread:
            return None
        return loop, thread, done

    def close(self, final: Closer | None = None) -> None:
        """Cancel what still runs on the loop, await ``final()`` there, stop the loop and join its thread.

        Idempotent. From the loop thread itself (a change listener) the shutdown is only scheduled.
        """
        started = self._start_shutdown(final)
        if started is None:
            return
        loop, thread, done = started
        try:
            done.result(self._time_left())
        except concurrent.futures.TimeoutError:
            _stop(loop)
        finally:
            thread.join(self._time_left())

    async def aclose(self, final: Closer | None = None) -> None:
        """The async twin of :meth:`close`, for a caller on another event loop (or on this one)."""
        started = self._start_shutdown(final)
        if started is None:
            return
        loop, thread, done = started
        try:
            await asyncio.wait_for(asyncio.wrap_future(done), self._time_left())
        except asyncio.TimeoutError:
            _stop(loop)
        finally:
            await asyncio.to_thread(thread.join, self._time_left())


def _mark_forked() -> None:
    for loop_thread in list(_started):
        loop_thread._after_fork_in_child()
    _started.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_mark_forked)


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event, time_left: Callable[[], float]) -> None:
    # The loop's own worker threads (asyncio.to_thread: a sync credential's calls, DNS lookups), so that closing can
    # stop waiting for them; loop.shutdown_default_executor() would wait for a blocked call however long it takes.
    workers = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="kvconfig-worker")
    loop.set_default_executor(workers)
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        # What asyncio.run() does on its way out: nothing is left pending, worker threads are joined (for as long as
        # the close timeout allows).
        try:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            _shut_down_workers(workers, time_left())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _shut_down_workers(workers: concurrent.futures.ThreadPoolExecutor, timeout: float) -> None:
    joined = threading.Event()

    def join() -> None:
        workers.shutdown(wait=True, cancel_futures=True)
        joined.set()

    joiner = threading.Thread(target=join, name="kvconfig-worker-join", daemon=True)
    joiner.start()
    if joined.wait(timeout):
        joiner.join()  # it has nothing left to do; joined, so no thread outlives close()
    else:
        logger.warning(
            "Closing a SecretResolver: a worker thread is still in a blocking call (a sync credential?); "
            "not waiting for it past the close timeout."
        )


def _stop(loop: asyncio.AbstractEventLoop) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(loop.stop)


async def _shutdown(loop: asyncio.AbstractEventLoop, final: Closer | None) -> None:
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    try:
        if final is not None:
            await final()
    finally:
        loop.stop()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
