"""An in-process fake provider, for tests and benchmarks of code built on :class:`ProviderClient`.

:class:`FakeProvider` implements the whole provider interface without any I/O: jobs live in a
dict, every call is counted by route (as a real client's transport would count requests), and job
lifecycles are driven either by the number of times a job was observed (deterministic: ``queued``
for ``queue_polls`` observations, ``running`` for ``run_polls`` more, then ``completed``) or by a
clock (``queue_time``/``exec_time`` seconds on ``clock()``), whichever is later. Faults are
injected per operation (:meth:`FakeProvider.inject`), failures per circuit (``fail=``), and tests
can force a job's state (:meth:`FakeProvider.set_status`).

Results are computed by ``simulate(circuit, shots, seed) -> counts``; the default is
:func:`classical_counts`, an exact simulator for classical circuits (``x``, ``cx``, ``ccx``,
``swap``, ``id``, ``barrier``, ``measure``, ``reset``), which is enough to tell circuits apart and
is cheap at 100,000 jobs. Pass ``simulate=qjobs.sim.counts`` for general circuits.

This module is a testing and benchmark aid; it is not a provider and is not registered with
:func:`qjobs.connect`.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

import anyio
import anyio.lowlevel

from qjobs._core.errors import ConflictError, InputError, NotFoundError
from qjobs._core.models import Backend, Job, JobFailure, JobStatus, Result
from qjobs._core.validation import is_int
from qjobs.circuit._adapt import CircuitLike, as_circuits
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities, ProviderClient

if TYPE_CHECKING:
    from qjobs.transport import Transport

__all__ = ["FakeProvider", "FakeStats", "classical_counts"]

_CLASSICAL = frozenset({"x", "cx", "ccx", "swap", "id", "barrier", "measure", "reset"})

#: Routes the fake counts, named like the IonQ client's for familiarity.
SUBMIT = "POST /jobs"
GET = "GET /jobs/{id}"
LIST = "GET /jobs"
RESULTS = "GET /jobs/{id}/results"
CANCEL = "PUT /jobs/{id}/status/cancel"
CANCEL_MANY = "PUT /jobs/status/cancel"
FIND = "GET /jobs?key"


def classical_counts(circuit: Circuit, shots: int, seed: int = 0) -> dict[str, int]:
    """Exact counts of a classical circuit: every shot gives the same bitstring.

    Raises :class:`~qjobs.InputError` for a gate outside ``x, cx, ccx, swap, id, barrier,
    measure, reset``. A circuit without ``measure`` reads every qubit.
    """
    bits = [0] * circuit.num_qubits
    clbits = [0] * circuit.num_clbits
    measured = False
    for pos, ins in enumerate(circuit.instructions):
        q = ins.qubits
        name = ins.name
        if name == "x":
            bits[q[0]] ^= 1
        elif name == "cx":
            bits[q[1]] ^= bits[q[0]]
        elif name == "ccx":
            bits[q[2]] ^= bits[q[0]] & bits[q[1]]
        elif name == "swap":
            bits[q[0]], bits[q[1]] = bits[q[1]], bits[q[0]]
        elif name == "reset":
            bits[q[0]] = 0
        elif name == "measure":
            clbits[ins.clbits[0]] = bits[q[0]]
            measured = True
        elif name not in _CLASSICAL:
            raise InputError(
                f"instructions[{pos}].name", name, "the fake simulates classical gates"
            )
    out = clbits if measured else bits
    width = len(out)
    key = "".join(str(b) for b in reversed(out)) if width else ""
    return {key: shots}


class FakeStats:
    """What the fake saw: calls by route, jobs created, and peak concurrently active jobs.

    A job is active from creation until it is observed final or is cancelled.
    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.total = 0
        self.jobs_created = 0
        self.circuits_created = 0
        self.active_jobs = 0
        self.peak_active_jobs = 0
        self.cancelled = 0

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy."""
        return {
            "requests": dict(self.requests),
            "total": self.total,
            "jobs_created": self.jobs_created,
            "circuits_created": self.circuits_created,
            "active_jobs": self.active_jobs,
            "peak_active_jobs": self.peak_active_jobs,
            "cancelled": self.cancelled,
        }


class _FakeTransport:
    """Stands in for the client's transport: a base URL and request statistics."""

    base_url = "fake://qjobs"

    def __init__(self, stats: FakeStats) -> None:
        self.stats = stats

    async def aclose(self) -> None:
        return None


class _FakeJob:
    __slots__ = (
        "active",
        "backend",
        "circuits",
        "created",
        "forced",
        "id",
        "key",
        "message",
        "observed",
        "shots",
        "status",
    )

    def __init__(
        self, jid: str, circuits: list[Circuit], shots: int, backend: str, key: str | None
    ) -> None:
        self.id = jid
        self.circuits = circuits
        self.shots = shots
        self.backend = backend
        self.key = key
        self.created = 0.0
        self.observed = 0
        self.status = JobStatus.QUEUED
        self.forced: JobStatus | None = None
        self.message: str | None = None
        self.active = True


class FakeProvider(ProviderClient):
    """An in-process :class:`ProviderClient` with counted calls and controllable job lifecycles.

    ``capabilities`` default to batches of 100 circuits, ``get_jobs`` of 100 ids in one call,
    keys and batch cancel supported, and short poll hints. ``latency`` (s) is awaited in every
    call. ``fail(circuits) -> message | None`` decides at completion whether a job fails.
    """

    provider: ClassVar[str] = "fake"
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=100,
        max_payload_bytes=1_000_000,
        status_batch_size=100,
        poll_initial=0.01,
        poll_max=0.2,
        poll_factor=2.0,
        max_in_flight_jobs=1000,
        submit_key=True,
        cancel_batch=True,
    )

    def __init__(
        self,
        *,
        capabilities: Capabilities | None = None,
        queue_polls: int = 0,
        run_polls: int = 0,
        queue_time: float = 0.0,
        exec_time: float = 0.0,
        latency: float = 0.0,
        simulate: Callable[[Circuit, int, int], dict[str, int]] | None = None,
        fail: Callable[[Sequence[Circuit]], str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = FakeStats()
        super().__init__(cast("Transport", _FakeTransport(self.stats)), capabilities=capabilities)
        self.queue_polls = queue_polls
        self.run_polls = run_polls
        self.queue_time = queue_time
        self.exec_time = exec_time
        self.latency = latency
        self.simulate = simulate or classical_counts
        self.fail = fail
        self.clock = clock
        self.jobs: dict[str, _FakeJob] = {}
        self._by_key: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._faults: dict[str, list[tuple[BaseException, bool] | None]] = {}
        #: Every job id in the order of get_job/get_jobs observations (for tests).
        self.observations: list[str] = []
        #: Optional hook called with the job id on every observation.
        self.on_observe: Callable[[str], None] | None = None

    async def __aenter__(self) -> FakeProvider:
        return self

    async def aclose(self) -> None:
        """Nothing to close."""

    # ------------------------------------------------------------------ test controls
    def inject(
        self, op: str, exc: BaseException, *, count: int = 1, after: bool = False, skip: int = 0
    ) -> None:
        """Make ``count`` calls of ``op`` raise ``exc``, after ``skip`` calls that succeed.

        ``op`` is one of ``submit``, ``get_job``, ``get_jobs``, ``results``, ``cancel``,
        ``find_by_key``. With ``after=True`` the call takes effect first (a ``submit`` creates
        its job) and then raises, like a connection dropped before the answer.
        """
        queue = self._faults.setdefault(op, [])
        queue.extend([None] * skip)
        queue.extend([(exc, after)] * count)

    def set_status(self, job_id: str, status: JobStatus, message: str | None = None) -> None:
        """Force a job's status from now on (``message`` for FAILED)."""
        job = self.jobs[job_id]
        job.forced = status
        job.message = message

    def job_for_key(self, key: str) -> _FakeJob | None:
        """The job created with ``key``, if any."""
        jid = self._by_key.get(key)
        return self.jobs.get(jid) if jid else None

    # ------------------------------------------------------------------ internals
    async def _call(self, route: str, op: str) -> tuple[BaseException, bool] | None:
        self.stats.requests[route] += 1
        self.stats.total += 1
        if self.latency > 0:
            await anyio.sleep(self.latency)
        else:
            await anyio.lowlevel.checkpoint()
        queue = self._faults.get(op)
        if queue:
            fault = queue.pop(0)
            if fault is not None and not fault[1]:
                raise fault[0]
            return fault
        return None

    def _state(self, job: _FakeJob, observe: bool) -> JobStatus:
        if observe:
            job.observed += 1
            self.observations.append(job.id)
            if self.on_observe is not None:
                self.on_observe(job.id)
        if job.status.is_final:
            return job.status
        if job.forced is not None:
            status = job.forced
        else:
            elapsed = self.clock() - job.created
            if job.observed <= self.queue_polls or elapsed < self.queue_time:
                status = JobStatus.QUEUED
            elif (
                job.observed <= self.queue_polls + self.run_polls
                or elapsed < self.queue_time + self.exec_time
            ):
                status = JobStatus.RUNNING
            else:
                status = JobStatus.COMPLETED
                if self.fail is not None:
                    msg = self.fail(job.circuits)
                    if msg is not None:
                        status = JobStatus.FAILED
                        job.message = msg
        job.status = status
        if status.is_final:
            self._deactivate(job)
        return status

    def _deactivate(self, job: _FakeJob) -> None:
        if job.active:
            job.active = False
            self.stats.active_jobs -= 1

    def _job(self, job: _FakeJob, observe: bool = True) -> Job:
        status = self._state(job, observe)
        return Job(
            id=job.id,
            provider="fake",
            status=status,
            provider_status=status.value,
            backend=job.backend,
            shots=job.shots,
            circuit_count=len(job.circuits),
            tags={"qjobs_key": job.key} if job.key else {},
            failure=JobFailure(job.message or "failed") if status is JobStatus.FAILED else None,
        )

    def _get(self, job_id: str) -> _FakeJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                "no such job", status=404, provider="fake", method="GET", path=f"/jobs/{job_id}"
            )
        return job

    # ------------------------------------------------------------------ the interface
    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = None,
        name: str | None = None,
        key: str | None = None,
        **options: Any,
    ) -> Job:
        """Create a job (a list makes one multi-circuit job); validated before the call."""
        circuits = as_circuits(circuits)
        circs = [circuits] if isinstance(circuits, Circuit) else list(circuits)
        if not circs:
            raise InputError("circuits", circs, "no circuit")
        most = self.capabilities.max_circuits_per_job
        if most is not None and len(circs) > most:
            raise InputError("circuits", len(circs), f"at most {most}")
        if not is_int(shots, low=1):
            raise InputError("shots", shots, "expected a positive integer")
        if self.simulate is classical_counts:
            for c in circs:
                for pos, ins in enumerate(c.instructions):
                    if ins.name not in _CLASSICAL:
                        raise InputError(
                            f"instructions[{pos}].name", ins.name, "the fake runs classical gates"
                        )
        fault = await self._call(SUBMIT, "submit")
        jid = f"fake-{next(self._ids):06d}"
        job = _FakeJob(jid, circs, shots, backend or "simulator", key)
        job.created = self.clock()
        self.jobs[jid] = job
        if key is not None:
            self._by_key[key] = jid
        st = self.stats
        st.jobs_created += 1
        st.circuits_created += len(circs)
        st.active_jobs += 1
        st.peak_active_jobs = max(st.peak_active_jobs, st.active_jobs)
        if fault is not None:
            raise fault[0]
        return self._job(job, observe=False)

    async def get_job(self, job_id: str) -> Job:
        """One job's state (counts as one observation)."""
        fault = await self._call(GET, "get_job")
        job = self._get(job_id)
        out = self._job(job)
        if fault is not None:
            raise fault[0]
        return out

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Many jobs' states in one call when ``status_batch_size`` > 1 (else one by one)."""
        size = self.capabilities.status_batch_size
        if size <= 1:
            return await super().get_jobs(job_ids)
        out: list[Job] = []
        for start in range(0, len(job_ids), size):
            part = job_ids[start : start + size]
            fault = await self._call(LIST, "get_jobs")
            out.extend(self._job(self.jobs[j]) for j in part if j in self.jobs)
            if fault is not None:
                raise fault[0]
        return out

    async def results(self, job: Job | str) -> list[Result]:
        """Per-circuit results of a completed job, in circuit order."""
        jid = job if isinstance(job, str) else job.id
        fault = await self._call(RESULTS, "results")
        fj = self._get(jid)
        if self._state(fj, observe=False) is not JobStatus.COMPLETED:
            raise ConflictError(
                f"job {jid} is {fj.status.value}",
                status=409,
                provider="fake",
                method="GET",
                path=f"/jobs/{jid}/results",
            )
        out = []
        for i, c in enumerate(fj.circuits):
            counts = self.simulate(c, fj.shots, i)
            width = c.num_clbits if c.measured_clbits else c.num_qubits
            out.append(Result.from_counts(counts, width, shots=fj.shots, job_id=jid, index=i))
        if fault is not None:
            raise fault[0]
        return out

    async def cancel(self, job: Job | str) -> None:
        """Cancel a job; a final job is left as it is."""
        jid = job if isinstance(job, str) else job.id
        fault = await self._call(CANCEL, "cancel")
        self._cancel(self._get(jid))
        if fault is not None:
            raise fault[0]

    def _cancel(self, fj: _FakeJob) -> None:
        if not self._state(fj, observe=False).is_final:
            fj.status = JobStatus.CANCELLED
            self.stats.cancelled += 1
            self._deactivate(fj)

    async def cancel_many(self, jobs: Sequence[Job | str]) -> None:
        """Cancel many jobs in one call when ``cancel_batch`` is set."""
        if not self.capabilities.cancel_batch:
            await super().cancel_many(jobs)
            return
        fault = await self._call(CANCEL_MANY, "cancel")
        for j in jobs:
            self._cancel(self._get(j if isinstance(j, str) else j.id))
        if fault is not None:
            raise fault[0]

    async def find_by_key(self, key: str) -> Job | None:
        """The job created with ``key`` (the newest), or None."""
        fault = await self._call(FIND, "find_by_key")
        if fault is not None:
            raise fault[0]
        jid = self._by_key.get(key)
        return None if jid is None else self._job(self.jobs[jid], observe=False)

    async def backends(self) -> list[Backend]:
        """One simulator backend."""
        await self._call("GET /backends", "backends")
        return [Backend("simulator", "fake", qubits=64, simulator=True)]

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Every job, newest first (filters: ``status``)."""
        await self._call(LIST, "iter_jobs")
        status = filters.get("status")
        for fj in reversed(list(self.jobs.values())):
            job = self._job(fj, observe=False)
            if status is None or job.status.value == status:
                yield job
