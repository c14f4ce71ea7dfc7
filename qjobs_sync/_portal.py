"""The background event loop behind :mod:`qjobs_sync` (hand-written; everything else is generated).

Every blocking call of the sync facade runs its coroutine on ONE event loop per process: an anyio
:class:`~anyio.from_thread.BlockingPortal` running in a daemon thread, started on first use and
stopped at interpreter exit (or by :func:`shutdown`). Async objects (clients and their aiohttp
sessions, schedulers, servers) live on that loop; their sync twins only hold a reference.

- Calls may come from any number of threads at once, including threads where an event loop is
  already running (a notebook): the call blocks that thread while the portal's loop does the work.
  Calling from the portal's own thread (e.g. inside an ``on_event`` callback) would deadlock and
  raises :class:`RuntimeError` instead.
- Ctrl-C while blocked cancels the operation on the loop and raises :class:`KeyboardInterrupt`.
- After ``fork`` the child starts its own loop on first use. Objects created before the fork are
  bound to the parent's loop: in the child, calling them raises :class:`RuntimeError` and leaving
  a ``with`` block entered before the fork returns at once without touching them; create clients
  in the child.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import importlib
import os
import threading
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

__all__ = [
    "Twin",
    "context",
    "iterate",
    "loop_thread",
    "portal",
    "run_async",
    "run_sync",
    "shutdown",
    "unwrap",
    "wrap",
]

T = TypeVar("T")

#: How long one uninterrupted wait lasts; waits are sliced so that Ctrl-C is seen on every OS.
_SLICE: Final = 0.25
#: How long a cancelled operation may take to unwind after Ctrl-C before the caller gives up.
_CANCEL_GRACE: Final = 5.0
#: How long shutdown may spend closing the objects left open.
_CLOSE_GRACE: Final = 5.0
#: How long shutdown waits for the loop thread.
_JOIN_TIMEOUT: Final = 10.0


class _State:
    """One running portal: its loop thread and the process that started it."""

    def __init__(self) -> None:
        started: concurrent.futures.Future[BlockingPortal] = concurrent.futures.Future()
        self.pid = os.getpid()
        self.thread = threading.Thread(
            target=self._main, args=(started,), name="qjobs_sync-portal", daemon=True
        )
        self.thread.start()
        self.portal = started.result()
        self.thread_id = self.thread.ident
        self.loop = self.portal.call(asyncio.get_running_loop)

    @staticmethod
    def _main(started: concurrent.futures.Future[BlockingPortal]) -> None:
        async def serve() -> None:
            async with BlockingPortal() as p:
                started.set_result(p)
                await p.sleep_until_stopped()

        try:
            anyio.run(serve)
        except BaseException as exc:  # pragma: no cover - only if the loop cannot start
            if not started.done():
                started.set_exception(exc)


_lock = threading.Lock()
_state: _State | None = None


def _current() -> _State:
    st = _state
    if st is not None and st.pid == os.getpid():
        return st
    with _lock:
        if _state is None or _state.pid != os.getpid():
            globals()["_state"] = _State()
        assert _state is not None
        return _state


def portal() -> BlockingPortal:
    """The process's blocking portal, started on first use."""
    return _current().portal


def loop_thread() -> threading.Thread | None:
    """The thread running the portal's event loop, or ``None`` when it is not running."""
    st = _state
    return st.thread if st is not None and st.pid == os.getpid() else None


def shutdown() -> None:
    """Stop the background loop and join its thread; the next call starts a new one.

    Objects left open (a client never closed) are closed first, so that no session or socket
    outlives its loop; operations still running are cancelled. Registered with :mod:`atexit`.
    """
    global _state
    with _lock:
        st, _state = _state, None
    if st is None or st.pid != os.getpid():
        return
    with _twins_lock:
        closers = [
            close
            for twin in list(_twins_by_id.values())
            if callable(close := getattr(twin._async, "aclose", None))
        ]
    with contextlib.suppress(RuntimeError):  # the loop already finished
        st.portal.call(_close_all, closers)
        st.portal.call(st.portal.stop, True)
    st.thread.join(_JOIN_TIMEOUT)


async def _close_all(closers: list[Callable[[], Awaitable[object]]]) -> None:
    """Close what is still open at shutdown, each in turn, within ``_CLOSE_GRACE`` in all."""
    with anyio.move_on_after(_CLOSE_GRACE):
        for close in closers:
            with contextlib.suppress(Exception):  # a failed close must not stop the others
                await close()


class _ForkedAway:
    """Stands in, in a forked child, for an async object living on the parent's event loop."""

    __slots__ = ("_name", "_pid")

    def __init__(self, name: str, pid: int) -> None:
        self._name = name
        self._pid = pid

    def __getattr__(self, attr: str) -> Any:
        raise RuntimeError(
            f"this qjobs_sync {self._name} was created in process {self._pid} before fork; its "
            "connections and tasks belong to that process's event loop, which does not exist "
            f"in this child (process {os.getpid()}). Create it again in the child."
        )

    def __repr__(self) -> str:
        return f"<{self._name} of process {self._pid}, unusable after fork>"


def _after_fork_in_child() -> None:
    # The loop thread does not exist in the child; the lock may have been held at fork time.
    # Twins made before the fork point at objects bound to the parent's loop: calling them here
    # would run the parent's sessions on a new loop (or share its sockets), so they now fail
    # with a clear error instead.
    global _lock, _state, _twins_lock
    _lock = threading.Lock()
    _twins_lock = threading.RLock()
    _state = None
    parent = os.getppid()
    for twin in list(_twins_by_id.values()):
        twin._async = _ForkedAway(type(twin).__name__, parent)
    _twins_by_id.clear()


atexit.register(shutdown)
os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_thread(st: _State) -> None:
    if threading.get_ident() == st.thread_id:
        raise RuntimeError(
            "qjobs_sync was called from its own event loop thread (for example inside a "
            "callback such as on_event or progress); blocking there would deadlock. Use the "
            "async qjobs API in that code."
        )


def _wait(
    future: concurrent.futures.Future[T],
    *,
    cancel: Callable[[], object] | None = None,
    done: threading.Event | None = None,
) -> T:
    """Wait for ``future`` in slices; on Ctrl-C cancel the operation (``cancel``) and re-raise."""
    try:
        while True:
            try:
                return future.result(_SLICE)
            except concurrent.futures.TimeoutError:
                continue
    except KeyboardInterrupt:
        (cancel or future.cancel)()
        if done is not None:
            done.wait(_CANCEL_GRACE)
        raise
    except concurrent.futures.CancelledError:
        raise RuntimeError("the qjobs_sync event loop was shut down during the call") from None


class _Call:
    """One blocking call: its task on the loop, its outcome, and a lock held until it is known.

    Lighter than ``asyncio.run_coroutine_threadsafe``: no concurrent future and no chaining
    callback (the outcome is stored by the task itself, one loop iteration earlier), and the
    same lock tells an interrupted caller that the cancellation has unwound.
    """

    __slots__ = ("cancelled", "error", "fn", "lock", "task", "value")

    def __init__(self, fn: Callable[[], Awaitable[Any]]) -> None:
        self.fn = fn
        self.lock = threading.Lock()
        self.lock.acquire()
        self.task: asyncio.Task[None] | None = None
        self.cancelled = False
        self.value: Any = None
        self.error: BaseException | None = None

    def start(self) -> None:  # on the loop
        if self.cancelled:
            self.error = KeyboardInterrupt()
            self.lock.release()
        else:
            self.task = asyncio.get_running_loop().create_task(_guarded(self))

    def cancel(self) -> None:  # on the loop
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


async def _guarded(call: _Call) -> None:
    """Run the call, store its outcome and release its caller (also after a cancellation)."""
    try:
        call.value = await call.fn()
    except BaseException as exc:
        call.error = exc
        if not isinstance(exc, Exception):
            raise  # cancellation (and KeyboardInterrupt/SystemExit) propagate in the loop too
    finally:
        call.lock.release()


def _acquire(st: _State, lock: threading.Lock, timeout: float | None = None) -> bool:
    """Block until ``lock`` is released; in slices, so that Ctrl-C is seen on every OS and a
    loop that died (shutdown from another thread) does not leave the caller blocked forever."""
    waited = 0.0
    while not lock.acquire(timeout=_SLICE):
        waited += _SLICE
        if timeout is not None and waited >= timeout:
            return False
        if not st.thread.is_alive():
            raise RuntimeError("the qjobs_sync event loop was shut down during the call")
    return True


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` (which returns an awaitable) on the portal's loop and block for its result."""
    st = _current()
    _check_thread(st)
    call = _Call(fn)
    # One hop each way: the task is created straight on the portal's asyncio loop and stores
    # its own outcome. (The portal's start_task_soon waits for the task to be spawned first.)
    st.loop.call_soon_threadsafe(call.start)
    try:
        _acquire(st, call.lock)
    except KeyboardInterrupt:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to cancel
            st.loop.call_soon_threadsafe(call.cancel)
            _acquire(st, call.lock, timeout=_CANCEL_GRACE)
        raise
    if call.error is not None:
        if isinstance(call.error, asyncio.CancelledError):
            raise RuntimeError("the qjobs_sync event loop was shut down during the call")
        raise call.error
    value: T = call.value
    return value


def run_sync(fn: Callable[[], T]) -> T:
    """Call the plain function ``fn()`` in a task on the portal's loop and return its result."""
    return run_async(lambda: _call_plain(fn))


async def _call_plain(fn: Callable[[], T]) -> T:
    return fn()


# --------------------------------------------------------------------------- iteration
_END: Final = object()


class _Iteration:
    """Drives one async iterator in a single task of the portal, one item per request.

    Running the whole ``async for`` in one task keeps async generators that hold cancel scopes or
    task groups across ``yield`` correct. Each request carries the future its item is put in.
    """

    def __init__(self, st: _State, make: Callable[[], AsyncIterable[Any]]) -> None:
        self._st = st
        self._make = make
        self._send, self._recv = anyio.create_memory_object_stream[concurrent.futures.Future[Any]](
            1
        )
        self._lock = threading.Lock()
        self._task = st.portal.start_task_soon(self._drive)

    async def _drive(self) -> None:
        it: AsyncIterator[Any] | None = None
        try:
            async with self._recv:
                async for request in self._recv:
                    try:
                        if it is None:
                            it = aiter(self._make())
                        item = await anext(it)
                    except StopAsyncIteration:
                        request.set_result(_END)
                        return
                    except anyio.get_cancelled_exc_class():
                        request.cancel()
                        raise
                    except BaseException as exc:
                        request.set_exception(exc)
                        return
                    request.set_result(item)
        finally:
            aclose = getattr(it, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()

    def next(self) -> Any:
        if self._st.pid != os.getpid():
            raise RuntimeError(
                "this qjobs_sync iterator was started before fork; its event loop belongs to "
                "the parent process. Start it again in the child."
            )
        with self._lock:
            request: concurrent.futures.Future[Any] = concurrent.futures.Future()
            try:
                self._st.portal.call(self._send.send_nowait, request)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return _END  # the driver has finished
            return _wait(request, cancel=self._task.cancel)

    def close(self) -> None:
        if self._task.done() or self._st.pid != os.getpid():
            return  # finished, or started in the parent before fork: nothing to close here
        try:
            self._st.portal.call(self._send.close)
        except RuntimeError:  # the loop is gone
            return
        _wait(self._task, cancel=self._task.cancel)


def iterate(make: Callable[[], AsyncIterable[Any]]) -> Iterator[Any]:
    """A blocking iterator over the async iterable returned by ``make()`` (run on the loop).

    Items that are async objects with a sync twin are wrapped in it. Closing the iterator (or
    leaving a ``for`` loop early) closes the async iterator on the loop.
    """
    st = _current()
    _check_thread(st)
    driver = _Iteration(st, make)
    try:
        while True:
            item = driver.next()
            if item is _END:
                return
            yield wrap(item)
    finally:
        driver.close()


# ---------------------------------------------------------------------- context managers
class _Context(AbstractContextManager[Any]):
    """A blocking context manager over an async one, entered and exited in one portal task."""

    def __init__(self, make: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._make = make
        self._entered: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._exit_info: tuple[Any, Any, Any] = (None, None, None)
        self._st: _State | None = None
        self._exit_event: anyio.Event | None = None
        self._task: concurrent.futures.Future[bool | None] | None = None

    async def _run(self) -> bool | None:
        self._exit_event = anyio.Event()
        cm = self._make()
        try:
            value = await cm.__aenter__()
        except BaseException as exc:
            self._entered.set_exception(exc)
            raise
        self._entered.set_result(value)
        try:
            await self._exit_event.wait()
        finally:
            result = await cm.__aexit__(*self._exit_info)
        return result

    def __enter__(self) -> Any:
        st = self._st = _current()
        _check_thread(st)
        self._task = task = st.portal.start_task_soon(self._run)
        entered = self._entered
        task.add_done_callback(
            lambda t: entered.cancel() if t.cancelled() and not entered.done() else None
        )
        return wrap(_wait(entered, cancel=task.cancel))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._st is not None
        assert self._task is not None
        assert self._exit_event is not None
        if self._st.pid != os.getpid():
            # Entered in the parent before fork: that loop (and what the block opened on it)
            # does not exist in this child; exiting must neither block nor touch it.
            return None
        _check_thread(self._st)
        self._exit_info = (exc_type, exc, tb)
        if not self._task.done():
            self._st.portal.call(self._exit_event.set)
        return _wait(self._task, cancel=self._task.cancel)


def context(make: Callable[[], AbstractAsyncContextManager[Any]]) -> AbstractContextManager[Any]:
    """A blocking context manager over the async one ``make()`` returns (made on the loop).

    The value it enters with is wrapped in its sync twin when it has one.
    """
    return _Context(make)


# --------------------------------------------------------------------------------- twins
_twins_by_id: weakref.WeakValueDictionary[int, Twin] = weakref.WeakValueDictionary()
_twin_class_for: dict[type, type[Twin] | None] = {}
_twins_lock = threading.RLock()


class Twin:
    """Base of every generated sync twin: holds the async object ``_async`` it delegates to."""

    _async: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twins of concrete classes define their own __init__; this one is for abstract ones.
        raise TypeError(
            f"{type(self).__name__} is abstract: get one from a factory such as qjobs_sync.connect"
        )

    @classmethod
    def _from_async(cls, obj: Any) -> Self:
        twin = cls.__new__(cls)
        twin._bind(obj)
        return twin

    def _bind(self, obj: Any) -> None:
        self._async = obj
        self._contexts: list[_Context] = []
        with _twins_lock:
            _twins_by_id[id(obj)] = self

    def _enter(self) -> Any:
        ctx = _Context(lambda: self._async)
        value = ctx.__enter__()
        self._contexts.append(ctx)
        return value

    def _exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return self._contexts.pop().__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        """``<qjobs_sync.providers.ionq.IonQClient http://...>``: the twin's own name, then what
        the async object's repr says about it (never a token: async reprs hold none)."""
        cls = type(self)
        detail = _repr_detail(repr(self._async), type(self._async))
        return f"<{cls.__module__}.{cls.__qualname__}{' ' + detail if detail else ''}>"


def _repr_detail(text: str, cls: type) -> str:
    """What ``text`` (an async object's repr) says besides its class name.

    ``<KipuClient http://h/quantum>`` gives ``http://h/quantum``; object's default repr
    (``<qjobs.providers.kipu.JobsAPI object at 0x...>``) gives nothing.
    """
    if not (text.startswith("<") and text.endswith(">")):
        return text
    head, _, rest = text[1:-1].partition(" ")
    if head in (cls.__name__, cls.__qualname__, f"{cls.__module__}.{cls.__qualname__}"):
        return "" if rest.startswith("object at 0x") else rest
    return text[1:-1]


def _twin_class(cls: type) -> type[Twin] | None:
    try:
        return _twin_class_for[cls]
    except KeyError:
        pass
    homes: dict[str, str] = importlib.import_module("qjobs_sync").__dict__["_TWIN_HOMES"]
    found: type[Twin] | None = None
    for klass in cls.__mro__:
        if klass.__module__.partition(".")[0] == "qjobs" and klass.__qualname__ in homes:
            found = getattr(importlib.import_module(homes[klass.__qualname__]), klass.__qualname__)
            break
    _twin_class_for[cls] = found
    return found


def wrap(obj: Any) -> Any:
    """``obj``'s sync twin when its class has one (the same twin every time), else ``obj``."""
    if obj is None:
        return None
    twin_class = _twin_class(type(obj))
    if twin_class is None:
        return obj
    with _twins_lock:
        twin = _twins_by_id.get(id(obj))
        if twin is not None and twin._async is obj:
            return twin
        return twin_class._from_async(obj)


def unwrap(obj: Any) -> Any:
    """The async object behind a sync twin; anything else unchanged.

    An async qjobs object whose class has a twin (a client from ``qjobs.connect``, a
    ``qjobs.Scheduler``...) raises :class:`TypeError` at once: it belongs to the caller's event
    loop, and driving it from the facade's loop would wait forever (a deadlock inside
    ``asyncio.run``).
    """
    if isinstance(obj, Twin):
        return obj._async
    if obj is not None and _twin_class(type(obj)) is not None:
        raise TypeError(_mixed_message(obj))
    return obj


def _mixed_message(obj: Any) -> str:
    name = type(obj).__name__
    from qjobs.providers import ProviderClient

    if isinstance(obj, ProviderClient):
        return (
            f"qjobs_sync needs a blocking client from qjobs_sync.connect(...); got an async "
            f"qjobs client ({name}, from qjobs.connect): use qjobs_sync.connect(...) here, or "
            "pass that client to the async API (qjobs.Scheduler, await qjobs.Sweep(...).run)"
        )
    return (
        f"qjobs_sync needs its own {name} (made through qjobs_sync); got the async qjobs "
        f"{name}: create it with qjobs_sync, or use the async qjobs API with it"
    )
