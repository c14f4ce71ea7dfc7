"""Every registered provider through ``qjobs_sync`` on its emulator: a round trip, the Kipu
namespaces, and no async object reachable from a sync client."""

from __future__ import annotations

import inspect
import io
from collections.abc import Iterator
from typing import Any

import pytest

import qjobs
import qjobs_sync
from qjobs.emulators import Server
from qjobs.providers import PROVIDERS
from qjobs.transport import RateLimit
from qjobs_sync import _portal
from qjobs_sync.providers.kipu import KipuClient, ServiceExecution

BELL = qjobs.Circuit.from_qasm(
    'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2];'
    " h q[0]; cx q[0], q[1]; measure q -> c;"
)
FAST = RateLimit(requests_per_second=None)
#: Per provider: the backend to run on (None: the client's default) and extra client options.
#: A provider missing here runs with its defaults.
BACKENDS: dict[str, str | None] = {
    "ionq": "simulator",
    "qbraid": "qbraid:qbraid:sim:qasm-sim",
    "kipu": "kipu.sim.qsim",
}
OPTIONS: dict[str, dict[str, Any]] = {"qbraid": {"config_file": "/nonexistent/qbraidrc"}}


def _connect(name: str, server: Server, **options: Any) -> qjobs_sync.ProviderClient:
    merged = {"token": "t", "rate_limit": FAST, **OPTIONS.get(name, {}), **options}
    return qjobs_sync.connect(name, base_url=server.base_url, **merged)


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_round_trip_on_every_emulator(provider: str) -> None:
    backend = BACKENDS.get(provider)
    with (
        qjobs_sync.emulators.serve(provider, seed=3) as server,
        _connect(provider, server) as client,
    ):
        assert isinstance(client, qjobs_sync.ProviderClient)
        assert type(client).__name__ == PROVIDERS[provider].rpartition(":")[2]
        assert client.provider == provider
        job = client.submit(BELL, shots=64, backend=backend, name="bell")
        assert isinstance(job, qjobs.Job)
        done = client.wait(job, timeout=30)
        assert done.status is qjobs.JobStatus.COMPLETED
        result = client.result(done)
        assert sum(result.counts.values()) == 64
        assert set(result.counts) <= {"00", "11"}
        listed = client.iter_jobs()
        assert isinstance(listed, Iterator)
        assert job.id in [j.id for j in listed]
        assert [j.id for j in client.get_jobs([job.id])] == [job.id]
        assert client.backends()
        ran = client.run(BELL, shots=16, backend=backend)
        assert sum(ran.counts.values()) == 16
        assert server.stats.snapshot()["jobs_created"] == 2


def _has_async_members(obj: Any) -> bool:
    cls = type(obj)
    if hasattr(cls, "__aenter__") or hasattr(cls, "__aiter__"):
        return True
    for name in dir(cls):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        fn = member.__func__ if isinstance(member, staticmethod | classmethod) else member
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            return True
    return False


def _reachable(value: Any, path: str, seen: set[int]) -> Iterator[tuple[str, Any]]:
    """``value`` and everything a user reaches from it: a twin's properties, the public
    attributes of the package's other objects, recursively (the transport is not entered)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    yield path, value
    if isinstance(value, _portal.Twin):
        for name in dir(type(value)):
            static = inspect.getattr_static(type(value), name)
            if not name.startswith("_") and isinstance(static, property):
                yield from _reachable(getattr(value, name), f"{path}.{name}", seen)
    elif type(value).__module__.partition(".")[0] == "qjobs" and not isinstance(
        value, qjobs.transport.Transport
    ):
        for name, item in getattr(value, "__dict__", {}).items():
            if not name.startswith("_"):
                yield from _reachable(item, f"{path}.{name}", seen)


def test_no_async_object_is_reachable_from_a_sync_client(provider: str) -> None:
    """A namespace object (``client.jobs``) without a twin would hand async methods to sync code."""
    with qjobs_sync.emulators.serve(provider) as server, _connect(provider, server) as client:
        found = dict(_reachable(client, "client", set()))
        if isinstance(client, KipuClient):
            found.update(_reachable(client.service_execution("se-1"), "se", set()))
            for path in ("client.jobs", "client.backends", "se", "se.jobs", "se.sessions"):
                assert isinstance(found[path], _portal.Twin), path
    # the transport is the one documented exception (in no table of scripts/gen_sync.py)
    leaks = [
        path
        for path, value in found.items()
        if not isinstance(value, _portal.Twin | qjobs.transport.Transport)
        and _has_async_members(value)
    ]
    assert leaks == []


# ------------------------------------------------------------------------ Kipu namespaces
@pytest.fixture
def hub() -> Iterator[tuple[Server, KipuClient]]:
    with (
        qjobs_sync.emulators.serve("kipu", seed=4) as server,
        _connect("kipu", server, token="se.se-7.secret") as client,
    ):
        assert isinstance(client, KipuClient)
        yield server, client


def test_kipu_namespaces(hub: tuple[Server, KipuClient]) -> None:
    server, client = hub
    # BackendsAPI.__call__ is the provider-interface method; .list() etc. the namespace's
    assert {b.name for b in client.backends()} == {b.name for b in client.backends.list()}
    assert client.backends.get("kipu.sim.qsim").simulator
    assert client.jobs is client.jobs  # the same twin for the same namespace object
    created = [
        client.jobs.create("kipu.sim.qsim", shots=20, input=BELL, name=f"n{i}") for i in range(3)
    ]
    done = client.wait(created[0], timeout=30)
    assert client.jobs.status(done).provider_status == "COMPLETED"
    sink = io.BytesIO()
    assert client.jobs.stream_result(done, sink) == len(sink.getvalue()) > 0
    # an async generator method is a plain iterator; leaving it early closes the generator
    pages_before = server.stats.snapshot()["requests"].get("GET /jobs", 0)
    assert isinstance(client.jobs.search(size=1), Iterator)
    for first in client.jobs.search(size=1):  # noqa: B007 - leave after the first item
        break
    assert first.id in {j.id for j in created}
    assert server.stats.snapshot()["requests"]["GET /jobs"] == pages_before + 1
    by_name = [j.name for j in client.jobs.search(sort="name,asc", size=2)]
    assert by_name == ["n0", "n1", "n2"]
    assert {w.id for w in client.workloads.search()} >= {j.id for j in created}
    assert isinstance(client.runtime_minutes.get(), list)


def test_kipu_session_context_manager(hub: tuple[Server, KipuClient]) -> None:
    _, client = hub
    with client.sessions.open("ibm.qpu.marrakesh") as session:
        assert isinstance(session, qjobs.providers.kipu.Session)
        assert client.sessions.status(session) == "OPEN"
        ran = client.run(BELL, shots=5, backend="ibm.qpu.marrakesh", session_id=session.id)
        assert sum(ran.counts.values()) == 5
    assert client.sessions.get(session).status == "CLOSED"
    kept: list[str] = []

    def failing_block() -> None:
        with client.sessions.open("ibm.qpu.marrakesh") as bad:
            kept.append(bad.id)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_block()
    assert client.sessions.status(kept[0]) == "CLOSED"


def test_kipu_service_execution_is_wrapped(hub: tuple[Server, KipuClient]) -> None:
    server, client = hub
    se = client.service_execution("se-7")
    assert isinstance(se, ServiceExecution)
    assert se.id == "se-7"
    job = client.wait(client.submit(BELL, shots=10, backend="ibm.qpu.fez"), timeout=30)
    assert se.jobs.get(job.id).id == job.id
    assert [w.id for w in se.workloads.search()] == [job.id]
    with pytest.raises(qjobs.NotFoundError):
        client.service_execution("se-8").jobs.get(job.id)
    assert server.stats.snapshot()["requests"]["GET /service-executions/{se}/jobs/{id}"] == 2
