"""Fidelity across options: every field the real API types as an integer stays an integer.

Queue and execution times are floats (seconds); every field derived from them (durations in
ms, queue times in minutes or seconds, allowances, positions) must still be emitted as an int,
whatever the option values, because the official SDKs validate them as ints (qbraid-core
0.6.37 rejects a device whose ``avgQueueTime`` is ``0.0001``; qhub-api types ``queue_avg_time``
and the runtime-minute seconds as ints). Each test walks one emulator through a job's whole life
on a frozen clock -- catalogue, submission, queued, running, done, results, listings, sessions or
groups -- and checks every integer-typed key in every JSON answer. It also checks that each key
was seen with a value at least once across the option sets, so a key that stops being emitted
cannot make the check pass vacuously.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

import qjobs
from qjobs.emulators import Clock, Server

pytestmark = pytest.mark.anyio

#: (queue_time, exec_time, latency): the values of the brief, short and long, mixed.
OPTIONS = [
    (0.0, 0.0, 0.0),
    (0.0033, 0.0033, 0.02),
    (0.5, 0.5, 0.0),
    (7.25, 7.25, 0.0),
    (0.0033, 7.25, 0.0),
    (7.25, 0.0033, 0.0),
]

QASM2 = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
    "measure q -> c;\n"
)
QASM3 = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\n'
    "c = measure q;\n"
)


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every ``(path, key, value)`` of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Recorder:
    """Raw HTTP against one emulator that keeps every JSON answer."""

    def __init__(self, server: Server, http: aiohttp.ClientSession, auth: dict[str, str]):
        opts = server.context.options
        self.label = f"queue_time={opts.queue_time} exec_time={opts.exec_time}"
        self.server = server
        self.http = http
        self.auth = auth
        self.bodies: list[tuple[str, Any]] = []

    async def __call__(self, method: str, path: str, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"headers": self.auth}
        if body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.server.base_url + path, **kwargs) as r:
            raw = await r.read()
            assert r.status < 400, (method, path, r.status, raw[:300])
            data = orjson.loads(raw) if raw and r.content_type.endswith("json") else None
        self.bodies.append((f"{method} {path}", data))
        return data

    def check(self, keys: frozenset[str], counts: frozenset[str] = frozenset()) -> set[str]:
        """Assert every ``keys`` value (and every value of a ``counts`` map) is an int;
        return the keys seen with a non-null value."""
        seen: set[str] = set()
        for route, body in self.bodies:
            for path, key, value in _walk(body):
                # A same-named object (IonQ's ``results.shots: {url}``) is another field.
                if key in keys and value is not None and not isinstance(value, dict | list):
                    assert _is_int(value), (
                        f"{self.label}: {route}: {path}.{key} = {value!r} is not an int"
                    )
                    seen.add(key)
                if key in counts and isinstance(value, dict):
                    bad = {k: v for k, v in value.items() if not _is_int(v)}
                    assert not bad, f"{self.label}: {route}: {path}.{key}: non-int counts {bad}"
                    seen.add(key)
        return seen


@asynccontextmanager
async def recorder(
    name: str, options: tuple[float, float, float], auth: dict[str, str]
) -> AsyncIterator[Recorder]:
    queue, exe, latency = options
    async with (
        qjobs.emulators.serve(
            name, clock=Clock(lambda: 0.0), queue_time=queue, exec_time=exe, latency=latency
        ) as server,
        aiohttp.ClientSession() as http,
    ):
        yield Recorder(server, http, auth)


async def _through_life(rec: Recorder, read: Callable[[], Any]) -> None:
    """Read at submission, in the queue, while running and when done (frozen clock)."""
    opts = rec.server.context.options
    await read()
    for step in (opts.queue_time * 0.9, opts.queue_time * 0.2 + opts.exec_time * 0.5):
        rec.server.advance(step)
        await read()
    rec.server.advance(opts.exec_time + 1.0)
    await read()


IONQ_INTS = frozenset(
    {
        "qubits",
        "shots",
        "average_queue_time",
        "predicted_execution_duration_ms",
        "predicted_wait_time_ms",
        "execution_duration_ms",
        "usage_time",
        "job_count",
        "circuits",
        "1q",
        "2q",
    }
)


async def _ionq(options: tuple[float, float, float]) -> set[str]:
    async with recorder("ionq", options, {"Authorization": "apiKey t"}) as rec:
        await rec("GET", "/backends")
        await rec("GET", "/backends/qpu.aria-1")
        session = await rec("POST", "/sessions", {"backend": "simulator"})
        circuit = [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]
        one = await rec(
            "POST",
            "/jobs",
            {
                "backend": "simulator",
                "shots": 100,
                "session_id": session["id"],
                "noise": {"model": "aria-1", "seed": 3},
                "input": {"gateset": "qis", "qubits": 2, "circuit": circuit},
            },
        )
        multi = await rec(
            "POST",
            "/jobs",
            {
                "type": "ionq.multi-circuit.v1",
                "backend": "simulator",
                "shots": 50,
                "input": {"gateset": "qis", "qubits": 2, "circuits": [{"circuit": circuit}] * 2},
            },
        )

        async def read() -> None:
            for jid in (one["id"], multi["id"]):
                await rec("GET", f"/jobs/{jid}")
            await rec("GET", "/jobs")
            await rec("GET", f"/sessions/{session['id']}")

        await _through_life(rec, read)
        await rec("GET", f"/jobs/{one['id']}/results/histogram")
        await rec("GET", f"/jobs/{multi['id']}/results/histogram")
        await rec("POST", f"/sessions/{session['id']}/end")
        seen = rec.check(IONQ_INTS)
        single, batch = [b for route, b in rec.bodies if route.endswith("/histogram")]
        assert single
        assert all(_is_int(v) for v in single.values())
        assert len(batch) == 2  # per child
        assert all(_is_int(v) for child in batch.values() for v in child.values())
        return seen


QBRAID_INTS = frozenset(
    {
        "avgQueueTime",
        "queueDepth",
        "numberQubits",
        "minShots",
        "maxShots",
        "executionDuration",
        "queuePosition",
        "numCircuits",
        "shots",
        "jobCount",
        "completedCount",
        "failedCount",
        "cancelledCount",
        "maxTTL",
        "page",
        "limit",
        "total",
        "totalPages",
    }
)


async def _qbraid(options: tuple[float, float, float]) -> set[str]:
    async with recorder("qbraid", options, {"X-API-Key": "k"}) as rec:
        group = (await rec("POST", "/jobs/group", {"name": "g"}))["data"]["groupJobQrn"]
        qrns = []
        for program in ({"format": "qasm2", "data": QASM2}, [{"format": "qasm3", "data": QASM3}]):
            created = await rec(
                "POST",
                "/jobs",
                {
                    "name": "x",
                    "shots": 20,
                    "deviceQrn": "qbraid:qbraid:sim:qasm-sim",
                    "tags": {},
                    "runtimeOptions": {},
                    "groupJobQrn": group,
                    "program": program,
                },
            )
            qrns.append(created["data"]["jobQrn"])

        async def read() -> None:
            await rec("GET", "/devices")
            await rec("GET", "/devices/ionq:ionq:qpu:aria-1")
            for qrn in qrns:
                await rec("GET", f"/jobs/{qrn}")
            await rec("GET", "/jobs")
            await rec("GET", f"/jobs/group/{group}")
            await rec("GET", "/jobs/group")

        await _through_life(rec, read)
        for qrn in qrns:
            await rec("GET", f"/jobs/{qrn}/result")
        await rec("POST", f"/jobs/group/{group}/close")
        return rec.check(QBRAID_INTS, counts=frozenset({"measurementCounts"}))


KIPU_INTS = frozenset(
    {
        "queue_avg_time",
        "queue_size",
        "usage_time_millis",
        "allocated_seconds",
        "consumed_seconds",
        "remaining_seconds",
        "job_count",
        "total_elements",
        "total_pages",
        "page",
        "size",
        "shots",
        "qubit_count",
    }
)


async def _kipu(options: tuple[float, float, float]) -> set[str]:
    async with recorder("kipu", options, {"X-Auth-Token": "t"}) as rec:
        session = await rec(
            "POST", "/sessions", {"backend_id": "ibm.qpu.fez", "mode": "batch", "provider": "IBM"}
        )
        jobs = [
            await rec(
                "POST",
                "/jobs",
                {"backend_id": "ibm.qpu.fez", "shots": 30, "input": {"pubs": [[QASM3]]}, **extra},
            )
            for extra in ({"session_id": session["id"]}, {})
        ]

        async def read() -> None:
            await rec("GET", "/backends")
            await rec("GET", "/backends/ibm.qpu.fez")
            await rec("GET", "/backends/ibm.qpu.fez/status")
            for job in jobs:
                await rec("GET", f"/jobs/{job['id']}")
            await rec("GET", "/jobs")
            await rec("GET", f"/sessions/{session['id']}")
            await rec("GET", "/workloads")
            await rec("GET", "/runtime-minutes")

        await _through_life(rec, read)
        for job in jobs:
            await rec("GET", f"/jobs/{job['id']}/result/normalized")
        return rec.check(KIPU_INTS, counts=frozenset({"counts"}))


QPI_INTS = frozenset({"num_qubits", "shots"})


async def _qpi(options: tuple[float, float, float]) -> set[str]:
    async with recorder("qpi", options, {"X-API-Token": "t"}) as rec:
        job = await rec(
            "POST", "/api/jobs", {"circuits": [{"circuit": QASM3}, {"circuit": QASM3}], "shots": 9}
        )

        async def read() -> None:
            await rec("GET", "/api/qpus")
            await rec("GET", f"/api/jobs/{job['id']}")
            await rec("GET", "/api/jobs")

        await _through_life(rec, read)
        final = rec.bodies[-2][1]
        assert final["status"] == "completed", final
        return rec.check(QPI_INTS, counts=frozenset({"counts"}))


QIBO_INTS = frozenset(
    {
        "etd_seconds",
        "queue_position",
        "nshots",
        "num_qubits",
        "max_num_qubits",
        "max_num_shots",
        "max_walltime_seconds",
        "seconds_max",
        "shots_left",
        "shots_max",
        "jobs_left",
        "jobs_max",
        "kbs_max",
    }
)


async def _qibo(options: tuple[float, float, float]) -> set[str]:
    circuit = {
        "queue": [
            {
                "name": "h",
                "init_args": [0],
                "init_kwargs": {},
                "_target_qubits": [0],
                "_control_qubits": [],
                "_class": "H",
            },
            {
                "name": "measure",
                "init_args": [[0, 1]],
                "init_kwargs": {"register_name": None, "collapse": False, "basis": ["Z", "Z"]},
                "_target_qubits": [0, 1],
                "_control_qubits": [],
                "_class": "M",
                "measurement_result": {"samples": None},
            },
        ],
        "nqubits": 2,
    }
    async with recorder("qibo", options, {"x-api-token": "t"}) as rec:
        pids = [
            (await rec("POST", "/api/jobs/", {"circuit": circuit, "nshots": 10, "device": "sim"}))[
                "pid"
            ]
            for _ in range(2)
        ]

        async def read() -> None:
            for pid in pids:
                await rec("GET", f"/api/jobs/{pid}/")
            await rec("GET", "/api/jobs/")
            await rec("GET", "/api/projectquotas/")
            await rec("GET", "/api/disk_quota/")

        await _through_life(rec, read)
        return rec.check(QIBO_INTS, counts=frozenset({"frequencies"}))


WALKS: dict[str, tuple[Callable[[tuple[float, float, float]], Any], frozenset[str]]] = {
    "ionq": (_ionq, IONQ_INTS),
    "qbraid": (_qbraid, QBRAID_INTS | {"measurementCounts"}),
    "kipu": (_kipu, KIPU_INTS | {"counts"}),
    "qpi": (_qpi, QPI_INTS | {"counts"}),
    "qibo": (_qibo, QIBO_INTS | {"frequencies"}),
}


@pytest.mark.parametrize("name", list(WALKS))
async def test_integer_fields_stay_integers_for_every_option(name: str) -> None:
    walk, keys = WALKS[name]
    seen: set[str] = set()
    for options in OPTIONS:
        seen |= await walk(options)
    assert keys - seen == set()  # every checked key carried a value at least once
