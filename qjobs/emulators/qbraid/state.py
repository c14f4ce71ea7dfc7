"""Device catalogue, job and group records of the qBraid emulator: statuses, costs, simulation.

Job groups (``/jobs/group``): a group is ``OPEN`` from creation until it is closed or its
``maxTTL`` runs out, then ``CLOSED`` while any of its jobs is unfinished, then ``COMPLETED``
(``FAILED`` when a job failed). Cancelling makes it ``CANCELLED`` at once.

Nothing here knows HTTP; :mod:`qjobs.emulators.qbraid.routes` serves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs
import numpy as np

from qjobs.circuit._ir import Circuit
from qjobs.emulators._common.clock import Clock, Lifecycle, Phase

__all__ = [
    "DEFAULT_TTL",
    "DEVICES",
    "FINAL_STATUSES",
    "GROUP_FINAL",
    "GROUP_STATUSES",
    "MAX_SIM_QUBITS",
    "MAX_TTL",
    "ORG_USER_ID",
    "STATUSES",
    "DeviceInfo",
    "QbraidGroup",
    "QbraidJob",
]

#: Widest circuit the emulator simulates (state vector of 2**24 amplitudes); wider jobs fail.
MAX_SIM_QUBITS: Final = 24
#: The emulated account's ``organizationUserId``; its last 4 hex digits are part of job QRNs.
ORG_USER_ID: Final = "665f1e2d9c4b7a0012ab37f5"
#: Every job status the API knows.
STATUSES: Final = (
    "INITIALIZING",
    "QUEUED",
    "VALIDATING",
    "RUNNING",
    "CANCELLING",
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "UNKNOWN",
    "HOLD",
)
FINAL_STATUSES: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED", "HOLD"})


@attrs.frozen
class DeviceInfo:
    """One device of the catalogue. ``pricing`` is in credits (``perTask``, ``perShot``,
    ``perMinute``)."""

    qrn: str
    name: str
    vendor: str
    provider: str
    device_type: str
    run_input_types: tuple[str, ...]
    status: str
    paradigm: str
    qubits: int
    batch: bool
    pricing: dict[str, float]
    min_shots: int = 1
    max_shots: int = 100_000
    noise_models: tuple[str, ...] = ()
    modality: str | None = None

    def per_job_cost(self, shots: int, circuits: int) -> float:
        """The cost known at submission: per task plus per shot."""
        p = self.pricing
        return round(p.get("perTask", 0.0) + p.get("perShot", 0.0) * shots * circuits, 6)

    def to_json(self, queue_depth: int, avg_queue_time: int) -> dict[str, Any]:
        """The device object of ``GET /devices`` (``avgQueueTime`` in whole minutes)."""
        return {
            "qrn": self.qrn,
            "name": self.name,
            "vendor": self.vendor,
            "provider": self.provider,
            "deviceType": self.device_type,
            "runInputTypes": list(self.run_input_types),
            "status": self.status,
            "statusMsg": None if self.status == "ONLINE" else f"device is {self.status.lower()}",
            "nextAvailable": None,
            "paradigm": self.paradigm,
            "modality": self.modality,
            "numberQubits": self.qubits,
            "queueDepth": queue_depth,
            "avgQueueTime": avg_queue_time,
            "directAccess": True,
            "batchJobSupport": self.batch,
            "noiseModels": list(self.noise_models),
            "minShots": self.min_shots,
            "maxShots": self.max_shots,
            "pricingModel": "fixed",
            "pricing": {k: self.pricing.get(k, 0.0) for k in ("perTask", "perShot", "perMinute")},
        }


def _device(**kwargs: Any) -> DeviceInfo:
    return DeviceInfo(**kwargs)


#: The emulated catalogue: simulators, QPUs (simulated ideally), an analog device and a retired one.
DEVICES: Final[dict[str, DeviceInfo]] = {
    d.qrn: d
    for d in (
        _device(
            qrn="qbraid:qbraid:sim:qasm-sim",
            name="QASM simulator",
            vendor="qbraid",
            provider="qbraid",
            device_type="SIMULATOR",
            run_input_types=("qasm2", "qasm3"),
            status="ONLINE",
            paradigm="gate_model",
            qubits=20,
            batch=True,
            pricing={"perTask": 0.0, "perShot": 0.0, "perMinute": 0.0},
        ),
        _device(
            qrn="qbraid:qbraid:sim:qir-sv",
            name="QIR state vector simulator",
            vendor="qbraid",
            provider="qbraid",
            device_type="SIMULATOR",
            run_input_types=("qasm2", "qasm3", "pyqir"),
            status="ONLINE",
            paradigm="gate_model",
            qubits=24,
            batch=False,
            pricing={"perTask": 0.0, "perShot": 0.0, "perMinute": 0.075},
            noise_models=("ideal",),
        ),
        _device(
            qrn="aws:aws:sim:sv1",
            name="SV1",
            vendor="aws",
            provider="aws",
            device_type="SIMULATOR",
            run_input_types=("qasm3", "braket"),
            status="ONLINE",
            paradigm="gate_model",
            qubits=34,
            batch=True,
            pricing={"perTask": 0.0, "perShot": 0.0, "perMinute": 7.5},
        ),
        _device(
            qrn="ionq:ionq:qpu:aria-1",
            name="Aria 1",
            vendor="ionq",
            provider="ionq",
            device_type="QPU",
            run_input_types=("qasm2", "qasm3"),
            status="ONLINE",
            paradigm="gate_model",
            qubits=25,
            batch=False,
            pricing={"perTask": 30.0, "perShot": 3.0, "perMinute": 0.0},
            max_shots=10_000,
            modality="trapped_ion",
        ),
        _device(
            qrn="aws:quera:qpu:aquila",
            name="Aquila",
            vendor="aws",
            provider="quera",
            device_type="QPU",
            run_input_types=("braket_ahs",),
            status="ONLINE",
            paradigm="analog",
            qubits=256,
            batch=False,
            pricing={"perTask": 30.0, "perShot": 1.0, "perMinute": 0.0},
            max_shots=1000,
            modality="neutral_atom",
        ),
        _device(
            qrn="aws:rigetti:qpu:aspen-m-3",
            name="Aspen-M-3",
            vendor="aws",
            provider="rigetti",
            device_type="QPU",
            run_input_types=("qasm3", "braket"),
            status="RETIRED",
            paradigm="gate_model",
            qubits=79,
            batch=False,
            pricing={"perTask": 30.0, "perShot": 0.035, "perMinute": 0.0},
            modality="superconducting",
        ),
    )
}


@attrs.define
class QbraidJob:
    """One job held by the emulator (one program, or a batch of programs)."""

    qrn: str
    seq: int
    device: DeviceInfo
    name: str | None
    shots: int
    tags: dict[str, Any]
    runtime_options: dict[str, Any]
    group: str | None
    programs: Any  # as submitted: one {format, data} or a list of them
    circuits: list[Circuit]
    lifecycle: Lifecycle
    rng_seed: list[int]
    owner: str = ""
    hold: bool = False
    result_lag: int = 0
    failure: dict[str, str] | None = None
    cancel_at: float | None = None
    samples: list[np.ndarray[Any, np.dtype[np.int64]]] | None = None

    @property
    def is_batch(self) -> bool:
        """True when the job was submitted with a program list."""
        return isinstance(self.programs, list)

    def status(self, now: float) -> str:
        """qBraid's status at clock reading ``now``.

        Queue time is split in thirds: ``INITIALIZING``, ``VALIDATING``, ``QUEUED``; then
        ``RUNNING``; then ``COMPLETED`` (``HOLD`` when asked), or ``FAILED``. A cancelled job
        reads ``CANCELLING`` until the clock moves past the cancel request, then ``CANCELLED``.
        """
        if self.cancel_at is not None:
            return "CANCELLING" if now <= self.cancel_at else "CANCELLED"
        phase = self.lifecycle.phase(now)
        if phase is Phase.QUEUED:
            lc = self.lifecycle
            third = (now - lc.submitted) / lc.queue_time * 3 if lc.queue_time > 0 else 3
            return "INITIALIZING" if third < 1 else "VALIDATING" if third < 2 else "QUEUED"
        if phase is Phase.RUNNING:
            return "RUNNING"
        if phase is Phase.FAILED:
            return "FAILED"
        return "HOLD" if self.hold else "COMPLETED"

    def cost(self, status: str) -> float | None:
        """Credits charged: set once the job is final (0 unless it ran)."""
        if status not in FINAL_STATUSES:
            return None
        if status not in ("COMPLETED", "HOLD"):
            return 0.0
        minutes = self.lifecycle.exec_time / 60.0
        extra = self.device.pricing.get("perMinute", 0.0) * minutes
        return round(self.device.per_job_cost(self.shots, len(self.circuits)) + extra, 6)

    def ended_at(self, status: str) -> float | None:
        """Clock reading when the job became final, or None."""
        if status not in FINAL_STATUSES:
            return None
        if self.cancel_at is not None:
            return self.cancel_at
        return self.lifecycle.finished

    def timestamps(self, clock: Clock, status: str) -> dict[str, Any]:
        """The ``timeStamps`` object (``executionDuration`` in ms once the job ran)."""
        ended = self.ended_at(status)
        out: dict[str, Any] = {"createdAt": clock.iso(self.lifecycle.submitted)}
        if ended is not None:
            out["endedAt"] = clock.iso(ended)
            ran = self.cancel_at is None and status != "FAILED"
            out["executionDuration"] = round(self.lifecycle.exec_time * 1000) if ran else 0
        return out

    def to_json(self, clock: Clock, queue_position: int | None) -> dict[str, Any]:
        """The full job object (``RuntimeJob`` plus platform extras)."""
        now = clock.now()
        status = self.status(now)
        cost = self.cost(status)
        estimated = self.device.per_job_cost(self.shots, len(self.circuits))
        shown_cost: Any = cost
        if cost is not None and self.device.vendor == "aws":
            shown_cost = f"{cost:g}"  # the platform sends some costs as numeric strings
        message = None
        if status == "FAILED" and self.failure is not None:
            message = self.failure["message"]
        elif status == "HOLD":
            message = "job terminal but results withheld due to account status"
        return {
            "_id": self.qrn.rpartition("-")[2],
            "jobQrn": self.qrn,
            "deviceQrn": self.device.qrn,
            "vendor": self.device.vendor,
            "provider": self.device.provider,
            "status": status,
            "statusMsg": message,
            "experimentType": self.device.paradigm,
            "estimatedCost": estimated,
            "cost": shown_cost,
            "name": self.name,
            "shots": self.shots,
            "tags": self.tags,
            "runtimeOptions": self.runtime_options,
            "groupJobQrn": self.group,
            "queuePosition": queue_position,
            "numCircuits": len(self.circuits),
            "timeStamps": self.timestamps(clock, status),
            "metadata": {},
            "organizationUserId": ORG_USER_ID,
            "error": self.failure if status == "FAILED" else None,
            "createdAt": clock.iso(self.lifecycle.submitted),
            "updatedAt": clock.iso(max(self.lifecycle.submitted, min(now, self._last_change(now)))),
        }

    def _last_change(self, now: float) -> float:
        lc = self.lifecycle
        if self.cancel_at is not None:
            return self.cancel_at
        for moment in (lc.finished, lc.started):
            if now >= moment:
                return moment
        return lc.submitted

    def simulate(self) -> list[np.ndarray[Any, np.dtype[np.int64]]]:
        """Per-shot outcomes of every circuit (computed once; seeded per job and circuit)."""
        if self.samples is None:
            from qjobs import sim

            self.samples = [
                np.asarray(
                    sim.sample(c, self.shots, seed=np.random.default_rng([*self.rng_seed, i])),
                    dtype=np.int64,
                )
                for i, c in enumerate(self.circuits)
            ]
        return self.samples


def result_data(circuit: Circuit, samples: np.ndarray[Any, np.dtype[np.int64]]) -> dict[str, Any]:
    """``resultData`` of one circuit: counts keyed by bitstrings with classical bit 0 rightmost,
    per-shot bit lists (element i = classical bit i), and the measured frequencies."""
    width = circuit.num_clbits if circuit.measured_clbits else circuit.num_qubits
    values, counts = np.unique(samples, return_counts=True)
    shots = int(samples.size)
    keys = [format(int(v), f"0{width}b") for v in values]
    bits = (samples[:, None] >> np.arange(width, dtype=np.int64)) & 1
    return {
        "measurementCounts": {k: int(c) for k, c in zip(keys, counts, strict=True)},
        "measurementProbabilities": {
            k: float(c) / shots for k, c in zip(keys, counts, strict=True)
        },
        "measurements": bits.tolist(),
        "runnerVersion": "qjobs-emulator",
        "irType": "qasm",
    }


#: Every group status (``GroupStatus``).
GROUP_STATUSES: Final = ("OPEN", "CLOSED", "COMPLETED", "FAILED", "CANCELLED")
#: Group statuses after which nothing changes.
GROUP_FINAL: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
#: ``maxTTL`` when the request gives none, and its upper bound (seconds).
DEFAULT_TTL: Final = 3600
MAX_TTL: Final = 86_400


@attrs.define
class QbraidGroup:
    """One job group held by the emulator."""

    qrn: str
    seq: int
    name: str | None
    tags: dict[str, Any]
    metadata: dict[str, Any]
    max_ttl: int
    created: float
    owner: str = ""
    closed_at: float | None = None
    cancelled_at: float | None = None

    def closes_at(self) -> float:
        """Clock reading at which the group stopped (or will stop) accepting jobs."""
        expiry = self.created + self.max_ttl
        return expiry if self.closed_at is None else min(self.closed_at, expiry)

    def is_open(self, now: float) -> bool:
        """True while jobs may join the group."""
        return self.cancelled_at is None and now < self.closes_at()

    def status(self, now: float, jobs: Sequence[QbraidJob]) -> str:
        """The group's status given its jobs' states at ``now``."""
        if self.cancelled_at is not None:
            return "CANCELLED"
        if self.is_open(now):
            return "OPEN"
        states = [j.status(now) for j in jobs]
        if any(s not in FINAL_STATUSES for s in states):
            return "CLOSED"
        return "FAILED" if "FAILED" in states else "COMPLETED"

    def _ended(self, now: float, status: str, jobs: Sequence[QbraidJob]) -> float | None:
        if status == "CANCELLED":
            return self.cancelled_at
        if status not in GROUP_FINAL:
            return None
        ends = [e for j in jobs if (e := j.ended_at(j.status(now))) is not None]
        return max([self.closes_at(), *ends])

    def to_json(self, clock: Clock, jobs: Sequence[QbraidJob]) -> dict[str, Any]:
        """The ``GroupJob`` object."""
        now = clock.now()
        status = self.status(now, jobs)
        states = [j.status(now) for j in jobs]
        costs = [j.cost(s) for j, s in zip(jobs, states, strict=True)]
        stamps: dict[str, Any] = {"createdAt": clock.iso(self.created)}
        ended = self._ended(now, status, jobs)
        if ended is not None:
            stamps["endedAt"] = clock.iso(ended)
        return {
            "groupJobQrn": self.qrn,
            "name": self.name,
            "status": status,
            "organizationUserId": ORG_USER_ID,
            "jobCount": len(jobs),
            "completedCount": states.count("COMPLETED"),
            "failedCount": states.count("FAILED"),
            "cancelledCount": states.count("CANCELLED"),
            "totalEstimatedCost": round(
                sum(j.device.per_job_cost(j.shots, len(j.circuits)) for j in jobs), 6
            ),
            "totalCost": round(sum(c for c in costs if c is not None), 6),
            "timeStamps": stamps,
            "maxTTL": self.max_ttl,
            "tags": self.tags,
            "metadata": self.metadata,
        }
