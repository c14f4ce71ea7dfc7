"""Job and session records of the Kipu Quantum Hub emulator: simulation and results.

Jobs hold the programs :func:`qjobs.emulators.kipu.wire.decode_programs` read. Results: the
backend's native JSON, the normalized PUBs (counts keyed by bitstrings, classical bit 0 rightmost)
and per-shot memory (Qiskit hex strings).

Statuses are computed from the lifecycle clock: PENDING -> RUNNING -> COMPLETED | FAILED, or
CANCELLING -> CANCELLED. On request (a tag ``qjobs:fail``, ``qjobs:abort``, ``qjobs:detach`` or
a name containing ``qjobs_fail``) a job ends FAILED, ABORTED or DETACHED.
"""

from __future__ import annotations

from typing import Any, Final

import attrs
import numpy as np

from qjobs._core.errors import QJobsError
from qjobs.emulators._common.clock import Clock, Lifecycle, Phase
from qjobs.emulators.kipu.wire import BackendSpec, Program

__all__ = ["MAX_SIM_QUBITS", "KipuJob", "KipuSession"]

#: Widest circuit the emulator simulates; wider jobs fail.
MAX_SIM_QUBITS: Final = 24
_FINAL: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED", "ABORTED", "DETACHED"})


@attrs.define
class Outcome:
    """The simulated outcome of one program: per-shot clbit outcomes, or exact probabilities."""

    width: int
    samples: np.ndarray[Any, np.dtype[np.int64]] | None
    probabilities: np.ndarray[Any, np.dtype[np.float64]] | None = None
    qubit_samples: np.ndarray[Any, np.dtype[np.int64]] | None = None

    def counts(self) -> dict[str, int]:
        """Bitstring counts, bit 0 rightmost."""
        assert self.samples is not None
        values, counts = np.unique(self.samples, return_counts=True)
        return {
            format(int(v), f"0{self.width}b"): int(c) for v, c in zip(values, counts, strict=True)
        }


def simulate(program: Program, shots: int, rng: np.random.Generator, exact: bool) -> Outcome:
    """Run one program on :mod:`qjobs.sim`."""
    from qjobs import sim

    circuit = program.circuit
    if circuit.num_qubits > MAX_SIM_QUBITS:
        raise ValueError(f"the emulator simulates at most {MAX_SIM_QUBITS} qubits")
    if exact:
        probs = np.asarray(sim.probabilities(circuit), dtype=np.float64)
        return Outcome(program.width, None, probabilities=probs)
    raw = np.asarray(sim.sample(circuit, shots, seed=rng), dtype=np.int64)
    if program.meas_map is None:
        return Outcome(program.width, raw)
    out = np.zeros_like(raw)
    for j, q in enumerate(program.meas_map):
        if q is not None:
            out |= ((raw >> q) & 1) << j
    return Outcome(program.width, out, qubit_samples=raw)


@attrs.define
class KipuJob:
    """One job held by the emulator."""

    id: str
    seq: int
    spec: BackendSpec
    body: dict[str, Any]
    lifecycle: Lifecycle
    context: str
    service_execution_id: str | None
    programs: list[Program] | None
    rng: np.random.Generator
    provider_job_id: str
    owner: str = ""
    end_status: str = "COMPLETED"
    failure: dict[str, Any] | None = None
    outcomes: list[Outcome] | None = None

    @property
    def shots(self) -> int:
        """The job's shots."""
        return int(self.body["shots"])

    @property
    def tags(self) -> list[str]:
        """The job's tags."""
        tags = self.body.get("tags")
        return list(tags) if isinstance(tags, list) else []

    @property
    def exact(self) -> bool:
        """kipu.sim.qsim in statevector/amplitudes mode: exact probabilities, no shots."""
        params = self.body.get("input_params") or {}
        return self.spec.id == "kipu.sim.qsim" and params.get("mode") in (
            "statevector",
            "amplitudes",
        )

    def status(self, now: float) -> str:
        """The Hub status string at clock reading ``now``."""
        lc = self.lifecycle
        if lc.canceled_at is not None:
            return "CANCELLING" if now < lc.canceled_at else "CANCELLED"
        phase = lc.phase(now)
        if phase is Phase.QUEUED:
            return "PENDING"
        if phase is Phase.RUNNING:
            return "RUNNING"
        if self.end_status != "COMPLETED":
            return self.end_status
        return "COMPLETED" if self.ensure_outcomes() else "FAILED"

    def is_final(self, now: float) -> bool:
        """True once the job will not change."""
        return self.status(now) in _FINAL

    def cancel(self, now: float) -> None:
        """PENDING jobs are cancelled at once; RUNNING ones pass through CANCELLING for half
        of their remaining execution time. Final jobs are left alone."""
        lc = self.lifecycle
        if lc.canceled_at is not None or self.is_final(now):
            return
        if lc.phase(now) is Phase.QUEUED:
            lc.canceled_at = now
        else:
            lc.canceled_at = now + (lc.finished - now) / 2

    def ensure_outcomes(self) -> bool:
        """Simulate once; a job that cannot be executed ends FAILED with a reason."""
        if self.outcomes is not None:
            return True
        if self.failure is not None:
            return False
        if self.programs is None:
            self.failure = {
                "message": f"the emulator cannot execute {self.spec.id} programs",
                "code": "EMULATOR_UNSUPPORTED",
            }
            return False
        try:
            self.outcomes = [simulate(p, self.shots, self.rng, self.exact) for p in self.programs]
        except (QJobsError, ValueError, MemoryError) as exc:
            self.failure = {"message": str(exc), "code": "SIMULATION_ERROR"}
            return False
        return True

    def has_result(self, now: float) -> bool:
        """Results exist for COMPLETED and FAILED jobs only."""
        return self.status(now) in ("COMPLETED", "FAILED")

    def to_json(self, clock: Clock) -> dict[str, Any]:
        """The Hub Job object."""
        now = clock.now()
        lc = self.lifecycle
        status = self.status(now)
        ran = lc.phase(now) is not Phase.QUEUED and not (
            lc.canceled_at is not None and lc.canceled_at <= lc.started
        )
        ended: float | None = None
        if status in _FINAL:
            ended = lc.canceled_at if lc.canceled_at is not None else lc.finished
        usage = None
        state = "PENDING"
        if status in _FINAL:
            if self.spec.is_simulator:
                state = "NOT_MEASURABLE"
            else:
                state = "MEASURED"
                usage = round(lc.exec_time * 1000) if ran else 0
        body = self.body
        return {
            "id": self.id,
            "name": body.get("name"),
            "backend_id": self.spec.id,
            "provider": self.spec.provider,
            "provider_job_id": self.provider_job_id,
            "input_params": body.get("input_params") or {},
            "input_format": body.get("input_format"),
            "tags": self.tags,
            "status": status,
            "created_at": clock.iso(lc.submitted),
            "started_at": clock.iso(lc.started) if ran else None,
            "ended_at": clock.iso(ended) if ended is not None else None,
            "usage_time_millis": usage,
            "shots": self.shots,
            "session_id": body.get("session_id"),
            "sdk_provider": body.get("sdk_provider"),
            "usage_time_state": state,
        }

    # -- results -----------------------------------------------------------------------
    def native_result(self) -> Any:
        """The backend-native result JSON (or ``{"error": ...}`` for a failed job)."""
        if not self.ensure_outcomes():
            return {"error": dict(self.failure or {"message": "failed"})}
        assert self.outcomes is not None
        kind = self.spec.kind
        outs = self.outcomes
        if kind == "ionq":
            o = outs[0]
            assert o.qubit_samples is not None or o.samples is not None
            raw = o.qubit_samples if o.qubit_samples is not None else o.samples
            assert raw is not None
            values, counts = np.unique(raw, return_counts=True)
            return {
                "histogram": {
                    str(int(v)): float(c) / self.shots for v, c in zip(values, counts, strict=True)
                }
            }
        if kind == "braket":
            items = [
                {
                    "measurement_counts": {k[::-1]: n for k, n in o.counts().items()},
                    "measured_qubits": list(range(o.width)),
                    "task_metadata": {"shots": self.shots, "id": self.provider_job_id},
                }
                for o in outs
            ]
            return items[0] if len(items) == 1 else {"program_results": items}
        if kind == "ibm":
            return {
                "results": [
                    {
                        "data": {
                            "c": {
                                "samples": [
                                    hex(int(s))
                                    for s in (o.samples if o.samples is not None else [])
                                ],
                                "num_bits": o.width,
                            }
                        },
                        "metadata": {"shots": self.shots},
                    }
                    for o in outs
                ],
                "metadata": {"version": 2},
            }
        if self.exact:
            o = outs[0]
            assert o.probabilities is not None
            return {
                "probabilities": {
                    format(int(k), f"0{o.width}b"): float(o.probabilities[k])
                    for k in np.flatnonzero(o.probabilities > 1e-15)
                }
            }
        if len(outs) == 1:
            return {"counts": outs[0].counts(), "shots": self.shots}
        return {"results": [{"counts": o.counts(), "shots": self.shots} for o in outs]}

    def normalized_result(self) -> dict[str, Any] | None:
        """The normalized PUBs; None (204) when the backend's results are not normalizable."""
        if self.programs is None:
            return None
        if not self.ensure_outcomes():
            return {"pubs": [{"type": "error", "error": dict(self.failure or {})}]}
        assert self.outcomes is not None
        pubs: list[dict[str, Any]] = []
        for i, (o, p) in enumerate(zip(self.outcomes, self.programs, strict=True)):
            pub: dict[str, Any] = {"index": i, "name": p.name or self.body.get("name")}
            if o.probabilities is not None:
                pub.update(
                    type="probabilities",
                    key_format="bitstring",
                    probabilities={
                        format(int(k), f"0{o.width}b"): float(o.probabilities[k])
                        for k in np.flatnonzero(o.probabilities > 1e-15)
                    },
                    truncated=False,
                    qubits=o.width,
                    shots=self.shots,
                )
            else:
                pub.update(
                    type="counts",
                    key_format="bitstring",
                    counts=o.counts(),
                    shots=self.shots,
                    qubits=o.width,
                )
            pubs.append(pub)
        return {"pubs": pubs}

    def memory(self) -> dict[str, Any] | None:
        """Per-shot hex strings of a single-program job; None without per-shot data."""
        if self.programs is None or not self.ensure_outcomes() or self.outcomes is None:
            return None
        if len(self.outcomes) != 1 or self.outcomes[0].samples is None:
            return None
        o = self.outcomes[0]
        assert o.samples is not None
        return {"memory": [hex(int(s)) for s in o.samples], "qubits": o.width, "shots": self.shots}

    def stored_input(self) -> dict[str, Any]:
        """The input as stored (a bare string comes back as ``{"qasm": ...}``)."""
        data = self.body.get("input")
        return data if isinstance(data, dict) else {"qasm": data}

    def normalized_input(self) -> dict[str, Any] | None:
        """The input as QASM PUBs; None (422) when it cannot be rendered."""
        if self.programs is None:
            return None
        pubs = []
        version = "openqasm.v3"
        for p in self.programs:
            text = p.source
            if text is None:
                try:
                    text = p.circuit.to_qasm3()
                except QJobsError:
                    return None
            if text.lstrip().startswith("OPENQASM 2"):
                version = "openqasm.v2"
            pubs.append(
                {
                    "name": p.name,
                    "qasm": text,
                    "observables": None,
                    "parameter_values": None,
                    "shots": self.shots,
                }
            )
        return {"format": version, "pubs": pubs}


@attrs.define
class KipuSession:
    """One session held by the emulator."""

    id: str
    seq: int
    spec: BackendSpec
    mode: str
    provider: str
    created: float
    context: str
    service_execution_id: str | None
    owner: str = ""
    ttl: int | None = None
    metadata: dict[str, Any] = attrs.Factory(dict)
    sdk_provider: str | None = None
    accepting: bool = True
    closed_at: float | None = None
    jobs: list[KipuJob] = attrs.Factory(list)
    provider_id: str = ""

    def expires(self) -> float | None:
        """Clock reading when the session's time to live ends."""
        return None if self.ttl is None else self.created + self.ttl

    def status(self, now: float) -> str:
        """OPEN (no job yet), ACTIVE (jobs in flight), INACTIVE (all jobs final), DRAINING,
        CLOSED (closed or expired), or ABORTED/DETACHED when its metadata asks for it."""
        asked = self.metadata.get("qjobs_end")
        if asked in ("ABORTED", "DETACHED"):
            return str(asked)
        expires = self.expires()
        if self.closed_at is not None or (expires is not None and now >= expires):
            return "CLOSED"
        if not self.accepting:
            return "DRAINING"
        if not self.jobs:
            return "OPEN"
        return "INACTIVE" if all(j.is_final(now) for j in self.jobs) else "ACTIVE"

    def to_json(self, clock: Clock) -> dict[str, Any]:
        """The Hub Session object."""
        now = clock.now()
        status = self.status(now)
        started = min((j.lifecycle.started for j in self.jobs), default=None)
        if started is not None and started > now:
            started = None
        closed = self.closed_at
        expires = self.expires()
        if closed is None and status == "CLOSED" and expires is not None:
            closed = expires
        tags = sorted({t for j in self.jobs for t in j.tags})
        usage = sum((j.to_json(clock).get("usage_time_millis") or 0) for j in self.jobs)
        final = status in ("CLOSED", "ABORTED", "DETACHED")
        return {
            "id": self.id,
            "backend_id": self.spec.id,
            "provider": self.provider,
            "status": status,
            "mode": self.mode,
            "created_at": clock.iso(self.created),
            "started_at": clock.iso(started) if started is not None else None,
            "closed_at": clock.iso(closed) if closed is not None else None,
            "expires_at": clock.iso(expires) if expires is not None else None,
            "usage_time_millis": usage,
            "provider_id": self.provider_id,
            "tags": tags,
            "metadata": self.metadata,
            "sdk_provider": self.sdk_provider,
            "usage_time_state": "MEASURED" if final else "PENDING",
            "final": final,
        }
