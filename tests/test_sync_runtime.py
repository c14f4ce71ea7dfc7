"""qjobs_sync at run time: the IonQ round trip on the emulator, threads, running loops, Ctrl-C,
fork and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import qjobs
import qjobs_sync
from qjobs.transport import RateLimit
from qjobs_sync import _portal
from qjobs_sync.providers.ionq import IonQClient

ROOT = Path(__file__).resolve().parents[1]
BELL = qjobs.Circuit.from_qasm(
    'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2];'
    " h q[0]; cx q[0], q[1]; measure q -> c;"
)
FAST = RateLimit(requests_per_second=None)


@pytest.fixture
def server() -> Iterator[qjobs.emulators.Server]:
    with qjobs_sync.emulators.serve("ionq", seed=1) as srv:
        yield srv


@pytest.fixture
def slow_server() -> Iterator[qjobs.emulators.Server]:
    """Jobs stay queued for a long time: for cancel and interrupted waits."""
    with qjobs_sync.emulators.serve("ionq", seed=2, queue_time=3600.0) as srv:
        yield srv


@pytest.fixture
def ionq(server: qjobs.emulators.Server) -> Iterator[qjobs_sync.ProviderClient]:
    with qjobs_sync.connect("ionq", token="t", base_url=server.base_url, rate_limit=FAST) as c:
        yield c


def _requests(server: qjobs.emulators.Server, route: str) -> int:
    return int(server.stats.snapshot()["requests"].get(route, 0))


def test_ionq_round_trip(server: qjobs.emulators.Server, ionq: qjobs_sync.ProviderClient) -> None:
    assert isinstance(ionq, IonQClient)
    assert isinstance(ionq, qjobs_sync.ProviderClient)
    assert ionq.provider == "ionq"
    assert ionq.base_url == server.base_url
    job = ionq.submit(BELL, shots=200, backend="simulator", name="bell")
    assert isinstance(job, qjobs.Job)
    done = ionq.wait(job, timeout=30)
    assert done.status is qjobs.JobStatus.COMPLETED
    result = ionq.result(done)
    assert isinstance(result, qjobs.Result)
    assert sum(result.counts.values()) == 200
    assert set(result.counts) <= {"00", "11"}
    listed = [j.id for j in ionq.iter_jobs()]
    assert job.id in listed
    assert ionq.get_jobs([job.id])[0].id == job.id
    assert ionq.run(BELL, shots=10, backend="simulator").counts.keys() <= {"00", "11"}
    assert server.stats.snapshot()["jobs_created"] == 2
    assert ionq.transport.stats.total >= 5  # transport read through, not wrapped


def test_cancel_round_trip(slow_server: qjobs.emulators.Server) -> None:
    url = slow_server.base_url
    with qjobs_sync.connect("ionq", token="t", base_url=url, rate_limit=FAST) as ionq:
        job = ionq.submit(BELL, shots=10, backend="simulator")
        assert ionq.get_job(job.id).status is qjobs.JobStatus.QUEUED
        ionq.cancel(job)
        assert ionq.wait(job, timeout=30).status is qjobs.JobStatus.CANCELLED
        with pytest.raises(qjobs.JobCancelledError):
            ionq.raise_for_job(ionq.get_job(job.id))


def test_errors_keep_their_types(ionq: qjobs_sync.ProviderClient) -> None:
    with pytest.raises(qjobs.InputError):
        ionq.submit(BELL, shots=0, backend="simulator")
    with pytest.raises(qjobs.NotFoundError):
        ionq.get_job("no-such-job")


def test_leaving_an_iterator_early_closes_it(
    server: qjobs.emulators.Server, ionq: qjobs_sync.ProviderClient
) -> None:
    for _ in range(3):
        ionq.submit(BELL, shots=1, backend="simulator")
    before = _requests(server, "GET /jobs")
    jobs = ionq.iter_jobs(limit=1)
    first = next(jobs)
    assert isinstance(first, qjobs.Job)
    jobs.close()  # type: ignore[attr-defined]
    assert _requests(server, "GET /jobs") == before + 1


def test_two_threads_at_once(server: qjobs.emulators.Server) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    ids: list[list[str]] = [[], []]

    def work(i: int) -> None:
        try:
            url = server.base_url
            with qjobs_sync.connect("ionq", token="t", base_url=url, rate_limit=FAST) as c:
                barrier.wait(timeout=30)
                for _ in range(10):
                    job = c.submit(BELL, shots=5, backend="simulator")
                    assert c.wait(job, timeout=30).status is qjobs.JobStatus.COMPLETED
                    ids[i].append(job.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(set(ids[0]) | set(ids[1])) == 20
    assert server.stats.snapshot()["jobs_created"] == 20


def test_inside_a_running_loop_in_a_worker_thread(
    server: qjobs.emulators.Server, ionq: qjobs_sync.ProviderClient
) -> None:
    out: list[object] = []

    async def notebook_cell() -> None:
        asyncio.get_running_loop()  # a loop runs in this thread; the sync call blocks it
        out.append(ionq.run(BELL, shots=5, backend="simulator"))

    t = threading.Thread(target=lambda: asyncio.run(notebook_cell()))
    t.start()
    t.join(60)
    assert len(out) == 1
    assert isinstance(out[0], qjobs.Result)


def test_inside_a_running_loop_in_the_main_thread(ionq: qjobs_sync.ProviderClient) -> None:
    async def notebook_cell() -> qjobs.Result:
        return ionq.run(BELL, shots=5, backend="simulator")

    assert threading.current_thread() is threading.main_thread()
    assert isinstance(asyncio.run(notebook_cell()), qjobs.Result)


def test_calling_from_the_loop_thread_is_a_clear_error(ionq: qjobs_sync.ProviderClient) -> None:
    with pytest.raises(RuntimeError, match="own event loop thread"):
        _portal.run_sync(lambda: ionq.get_jobs([]))


def test_scheduler_and_sweep_through_the_sync_facade(
    server: qjobs.emulators.Server, ionq: qjobs_sync.ProviderClient
) -> None:
    events: list[str] = []
    with qjobs_sync.Scheduler(
        ionq, backend="simulator", shots=20, on_event=lambda e: events.append(e.kind)
    ) as sched:
        futures = [sched.submit(BELL) for _ in range(6)]
        assert all(isinstance(f, qjobs_sync.JobFuture) for f in futures)
        completed = list(sched.as_completed())
        assert sorted(f.index for f in completed) == list(range(6))
        assert all(c is futures[c.index] for c in completed)  # the same twin every time
        results = sched.gather()
        assert [sum(r.counts.values()) for r in results] == [20] * 6
        assert futures[0].done()
        assert futures[0].result().counts == results[0].counts
        assert sched.progress().completed == 6
    assert events.count("completed") == 6

    import numpy as np

    sweep = qjobs_sync.Sweep(
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; rx(theta) q[0]; measure q -> c;',
        {"theta": np.array([0.0, np.pi])},
    )
    out = sweep.run(ionq, backend="simulator", shots=50)
    assert isinstance(out, qjobs.SweepResult)
    assert out.probabilities.shape == (2, 2)
    assert out.probabilities[0, 0] == 1.0
    assert out.probabilities[1, 1] == 1.0


def test_shutdown_leaves_no_thread_or_loop() -> None:
    with (
        qjobs_sync.emulators.serve("ionq") as srv,
        qjobs_sync.connect("ionq", token="t", base_url=srv.base_url) as c,
    ):
        c.run(BELL, shots=5, backend="simulator")
    thread = _portal.loop_thread()
    assert thread is not None
    assert thread.is_alive()
    loop = _portal._current().loop
    _portal.shutdown()
    assert _portal.loop_thread() is None
    assert not thread.is_alive()
    assert loop.is_closed()
    assert all(not t.name.startswith("qjobs_sync") for t in threading.enumerate())
    # the next call starts a new loop lazily
    with qjobs_sync.emulators.serve("ionq") as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")
    assert _portal.loop_thread() not in (None, thread)


def test_shutdown_during_a_call_raises_in_the_caller() -> None:
    started = threading.Event()
    outcome: list[BaseException] = []

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    def caller() -> None:
        try:
            _portal.run_async(forever)
        except BaseException as exc:  # recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(10)
    _portal.shutdown()
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "shut down" in str(outcome[0])


def test_errors_and_values_cross_the_hand_off() -> None:
    async def boom() -> None:
        raise qjobs.InputError("shots", -1, "must be positive")

    with pytest.raises(qjobs.InputError) as info:
        _portal.run_async(boom)
    assert info.value.field == "shots"
    assert _portal.run_sync(lambda: threading.current_thread().name) == "qjobs_sync-portal"

    async def echo(i: int) -> int:
        await asyncio.sleep(0)
        return i

    values = [_portal.run_async(functools.partial(echo, i)) for i in range(50)]
    assert values == list(range(50))


def _run_script(source: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_interpreter_exit_stops_the_loop() -> None:
    proc = _run_script(
        """
        import threading, qjobs_sync
        from qjobs_sync import _portal
        with qjobs_sync.emulators.serve("ionq") as srv:
            c = qjobs_sync.connect("ionq", token="t", base_url=srv.base_url)
            print(c.backends()[0].name)   # a client left open on purpose
        print(_portal.loop_thread().name)
        """
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "qjobs_sync-portal"
    assert "Unclosed" not in err  # the client left open is closed at exit, on its loop


def test_shutdown_closes_clients_left_open() -> None:
    with qjobs_sync.emulators.serve("ionq") as srv:
        left_open = qjobs_sync.connect("ionq", token="t", base_url=srv.base_url)
        assert left_open.backends()
        closed = qjobs_sync.connect("ionq", token="t", base_url=srv.base_url)
        closed.close()
        transports = (left_open.transport, closed.transport)
        assert not transports[0].closed
    _portal.shutdown()
    assert all(t.closed for t in transports)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_long_wait_cancels_and_raises() -> None:
    proc = _run_script(
        """
        import asyncio, threading, qjobs_sync
        from qjobs_sync import _portal
        circ = qjobs_sync.Circuit.from_qasm(
            'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; h q[0]; measure q -> c;')
        with qjobs_sync.emulators.serve("ionq", queue_time=3600.0) as srv:
            with qjobs_sync.connect("ionq", token="t", base_url=srv.base_url) as c:
                job = c.submit(circ, shots=1, backend="simulator")

                def polls():
                    return srv.stats.snapshot()["requests"].get("GET /jobs/{id}", 0)

                def announce():  # once wait() is polling, the test may send SIGINT
                    while polls() == 0:
                        threading.Event().wait(0.01)
                    print("waiting", flush=True)

                threading.Thread(target=announce, daemon=True).start()
                try:
                    c.wait(job, poll_initial=0.05, poll_max=0.05)
                except KeyboardInterrupt:
                    tasks = _portal.run_sync(lambda: [
                        t.get_coro().__qualname__
                        for t in asyncio.all_tasks() if t is not asyncio.current_task()
                    ])
                    print("interrupted; polling tasks left:",
                          sum("_guarded" in t for t in tasks), flush=True)
                    print("job", c.get_job(job.id).status.name, flush=True)
                    raise
        """
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "waiting"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert "interrupted; polling tasks left: 0" in out, err
    assert "job QUEUED" in out  # stopping the wait does not cancel the job (documented)
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_loop(
    server: qjobs.emulators.Server, ionq: qjobs_sync.ProviderClient
) -> None:
    ionq.run(BELL, shots=5, backend="simulator")  # the parent's loop is running
    parent_thread = _portal.loop_thread()
    assert parent_thread is not None
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read_fd)
            assert _portal.loop_thread() is None
            with qjobs_sync.connect("ionq", token="t", base_url=server.base_url) as child:
                res = child.run(BELL, shots=7, backend="simulator")
            child_thread = _portal.loop_thread()
            assert child_thread is not None
            assert child_thread is not parent_thread
            os.write(write_fd, str(sum(res.counts.values())).encode())
            _portal.shutdown()
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as r:
        shots = r.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert shots == "7"
    assert ionq.get_jobs([]) == []  # the parent still works


def test_an_abstract_twin_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError, match="abstract"):
        qjobs_sync.ProviderClient(None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_objects_from_before_fork_fail_clearly_and_never_block_the_child() -> None:
    """A child forked inside ``with`` blocks: calling a pre-fork client raises a clear error,
    a pre-fork iterator too, and leaving the blocks returns at once (the parent's loop does not
    exist in the child; waiting on it would hang the child forever)."""
    with contextlib.ExitStack() as stack:
        srv = stack.enter_context(qjobs_sync.emulators.serve("ionq", seed=5))
        client = stack.enter_context(
            qjobs_sync.connect("ionq", token="t", base_url=srv.base_url, rate_limit=FAST)
        )
        client.submit(BELL, shots=1, backend="simulator")
        jobs = client.iter_jobs(limit=1)
        assert isinstance(next(jobs), qjobs.Job)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(read_fd)
                lines = []
                for call in (client.backends, lambda: next(jobs)):
                    try:
                        call()
                    except RuntimeError as exc:
                        lines.append("before fork" in str(exc))
                lines.append("unusable after fork" in repr(client))
                stack.close()  # leaves serve() and connect(): must not block
                with (  # a fresh loop works
                    qjobs_sync.emulators.serve("ionq", seed=6) as own,
                    qjobs_sync.connect("ionq", token="t", base_url=own.base_url) as mine,
                ):
                    lines.append(sum(mine.run(BELL, shots=3).counts.values()) == 3)
                os.write(write_fd, repr(lines).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd) as r:
            ready, _, _ = select.select([r], [], [], 60)
            if not ready:
                os.kill(pid, signal.SIGKILL)
            out = r.read() if ready else "child blocked"
        _, status = os.waitpid(pid, 0)
        assert out == repr([True, True, True, True])
        assert os.waitstatus_to_exitcode(status) == 0
        # the parent's objects are untouched
        assert client.get_job(next(iter(client.iter_jobs(limit=1))).id).id
        jobs.close()  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_iteration_cancels_the_async_iterator() -> None:
    """SIGINT while ``for fut in sched.as_completed()`` blocks: the task driving the async
    iterator is cancelled on the loop and ``KeyboardInterrupt`` reaches the caller."""
    proc = _run_script(
        """
        import asyncio, threading, qjobs_sync
        from qjobs_sync import _portal
        circ = qjobs_sync.Circuit.from_qasm(
            'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; h q[0]; measure q -> c;')

        def awaiting(coro):  # the names of the coroutines a task is suspended in
            while coro is not None:
                yield getattr(coro, "__name__", "")
                coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)

        def iterating():
            return sum("_drive" in awaiting(t.get_coro()) for t in asyncio.all_tasks())

        def announce():  # once the iterator is driven on the loop, the test may send SIGINT
            while _portal.run_sync(iterating) == 0:
                threading.Event().wait(0.01)
            print("iterating", flush=True)

        with qjobs_sync.emulators.serve("ionq", queue_time=3600.0) as srv:
            with qjobs_sync.connect("ionq", token="t", base_url=srv.base_url) as c:
                with qjobs_sync.Scheduler(c, backend="simulator", shots=1) as sched:
                    sched.submit(circ)
                    threading.Thread(target=announce, daemon=True).start()
                    try:
                        for fut in sched.as_completed():
                            print("unexpected", fut, flush=True)
                    except KeyboardInterrupt:
                        print("interrupted; iterating tasks left:",
                              _portal.run_sync(iterating), flush=True)
                        raise
        """
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "iterating"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert "interrupted; iterating tasks left: 0" in out, err
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0
