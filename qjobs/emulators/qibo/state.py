"""In-memory records of the Qibo cloud emulator: projects and quotas, users, and jobs
(lifecycle, simulation, result archives, job JSON)."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any, Final

import attrs
import numpy as np

from qjobs._core.errors import QJobsError
from qjobs.circuit._ir import Circuit
from qjobs.emulators._common.circuits import drop_idle_qubits
from qjobs.emulators._common.clock import Clock, Lifecycle, Phase
from qjobs.emulators.qibo.wire import MAX_SHOTS, DecodedCircuit

__all__ = [
    "DISK_KB",
    "MAX_SIM_QUBITS",
    "PROJECTS",
    "QIBO_VERSION",
    "QUOTA_LIMITS",
    "Partition",
    "QiboJob",
    "QiboUser",
    "Quota",
    "build_archive",
    "status_of",
]

#: The qibo version the emulated server runs (the one qibo-client 0.2.4 pins).
QIBO_VERSION: Final = "0.3.2"
#: Widest register (qubits the gates touch) the emulator simulates; wider jobs end in error.
MAX_SIM_QUBITS: Final = 24


@attrs.frozen
class Partition:
    """A device partition of a project quota (``device`` in a submission)."""

    name: str
    max_num_qubits: int
    hardware_type: str = "simulator"
    description: str = ""
    status: str = "available"
    always_fails: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``partition`` object of quota and job JSON."""
        return {
            "name": self.name,
            "max_num_qubits": self.max_num_qubits,
            "hardware_type": self.hardware_type,
            "description": self.description,
            "status": self.status,
        }


def status_of(job: QiboJob, now: float) -> str:
    """``queueing`` -> ``pending`` (second half of the queue time) -> ``running`` ->
    ``postprocessing`` (last quarter of the execution time) -> ``success`` | ``error``."""
    phase = job.phase(now)
    lc = job.lifecycle
    if phase is Phase.QUEUED:
        return "queueing" if now - lc.submitted < lc.queue_time / 2 else "pending"
    if phase is Phase.RUNNING:
        return "running" if now - lc.started < lc.exec_time * 0.75 else "postprocessing"
    return "success" if phase is Phase.DONE else "error"


def _qibo_state(circuit: Circuit) -> np.ndarray[Any, np.dtype[np.complex128]]:
    """The final state in qibo's order (qubit 0 is the most significant bit of the index)."""
    from qjobs import sim

    state = np.asarray(sim.statevector(circuit), dtype=np.complex128)
    n = circuit.num_qubits
    index = np.arange(state.size)
    reversed_index = np.zeros_like(index)
    for q in range(n):
        reversed_index |= ((index >> q) & 1) << (n - 1 - q)
    out = np.empty_like(state)
    out[reversed_index] = state
    return out


@attrs.define
class QiboJob:
    """One job held by the emulator."""

    pid: str
    seq: int
    owner: str
    email: str
    raw_circuit: Any
    decoded: DecodedCircuit | None
    nshots: int
    device: Partition
    project: str
    verbatim: bool
    lifecycle: Lifecycle
    created: float
    rng: np.random.Generator
    projectquota: dict[str, Any] = attrs.Factory(dict)
    error: str | None = None
    samples: np.ndarray[Any, np.dtype[np.int64]] | None = None
    state: np.ndarray[Any, np.dtype[np.complex128]] | None = None
    archive: bytes | None = None
    _frequencies: dict[str, int] | None = attrs.field(default=None, init=False)

    def phase(self, now: float) -> Phase:
        """The lifecycle phase; a simulation failure turns DONE into FAILED."""
        phase = self.lifecycle.phase(now)
        if phase is Phase.DONE and not self.ensure_outcomes():
            return Phase.FAILED
        return phase

    def ensure_outcomes(self) -> bool:
        """Simulate once, on first need; record an error message on failure."""
        if self.samples is not None or self.state is not None:
            return True
        if self.lifecycle.fails:
            if self.error is None:
                self.error = "the job failed"
            return False
        if self.decoded is None:
            self.lifecycle.fails = True
            self.error = self.error or "no circuit"
            return False
        from qjobs import sim

        circuit = self.decoded.circuit
        try:
            small, used = drop_idle_qubits(circuit)
            if len(used) > MAX_SIM_QUBITS:
                raise ValueError(
                    f"the emulator simulates at most {MAX_SIM_QUBITS} active qubits, "
                    f"the circuit uses {len(used)}"
                )
            if not self.decoded.measured:
                if circuit.num_qubits > MAX_SIM_QUBITS:
                    raise ValueError(
                        f"the emulator returns states of at most {MAX_SIM_QUBITS} qubits"
                    )
                self.state = _qibo_state(circuit)
                return True
            outcomes = np.asarray(sim.sample(small, self.nshots, seed=self.rng), dtype=np.int64)
        except (QJobsError, ValueError, MemoryError) as exc:
            self.lifecycle.fails = True
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        width = len(self.decoded.measured)
        columns = [(outcomes >> j) & 1 for j in range(width)]
        self.samples = (
            np.stack(columns, axis=1).astype(np.int64)
            if columns
            else np.zeros((self.nshots, 0), dtype=np.int64)
        )
        return True

    def frequencies(self) -> dict[str, int] | None:
        """Qibo frequencies (bitstrings, first measured qubit leftmost) once successful."""
        if self.samples is None:
            return None
        if self._frequencies is None:  # the samples never change: counted once
            rows, counts = np.unique(self.samples, axis=0, return_counts=True)
            self._frequencies = {
                "".join(str(int(b)) for b in row): int(n)
                for row, n in zip(rows, counts, strict=True)
            }
        return dict(self._frequencies)

    def results_payload(self) -> dict[str, Any]:
        """The dict qibo's ``result.dump`` writes (``np.save`` of it is ``results.npy``)."""
        if self.state is not None:
            return {"state": self.state, "dtype": "QuantumState", "qibo": QIBO_VERSION}
        assert self.decoded is not None
        return {
            "measurements": [json.dumps(g) for g in self.decoded.measurement_gates],
            "probabilities": None,
            "samples": self.samples,
            "nshots": self.nshots,
            "nqubits": None,
            "dtype": "MeasurementOutcomes",
            "qibo": QIBO_VERSION,
        }

    def to_json(self, clock: Clock, *, queue_position: int | None) -> dict[str, Any]:
        """The job object of ``GET /api/jobs/{pid}/`` at the clock's current reading."""
        now = clock.now()
        phase = self.phase(now)
        status = status_of(self, now)
        lc = self.lifecycle
        updated = lc.submitted
        if phase is not Phase.QUEUED:
            updated = lc.started
        if phase.is_final:
            updated = lc.finished
        body: dict[str, Any] = {
            "pid": self.pid,
            "user": {"email": self.email},
            "projectquota": self.projectquota,
            "circuit": self.raw_circuit,
            "transpiled_circuit": None,
            "status": status,
            "created_at": clock.iso(self.created),
            "updated_at": clock.iso(updated),
            "nshots": self.nshots,
            "num_qubits": self.decoded.circuit.num_qubits if self.decoded else None,
            "frequencies": self.frequencies() if phase is Phase.DONE else None,
            "result_path": f"results/{self.pid}.tar.gz" if phase.is_final else None,
            "qibo_version": QIBO_VERSION,
            "qibolab_version": None,
            "verbatim": self.verbatim,
            "runtime": round(lc.exec_time, 6) if phase.is_final else None,
            "stdout": None,
            "stderr": self.error if phase is Phase.FAILED else None,
        }
        if status == "pending":
            body["queue_position"] = queue_position
            body["etd_seconds"] = max(0, round(lc.started - now))
            body["queue_last_update"] = clock.iso(now)
        else:
            body["queue_position"] = None
            body["etd_seconds"] = None
        return body


def build_archive(job: QiboJob) -> bytes:
    """The tar.gz the download route serves: ``results.npy`` (success) and the logs."""
    members: list[tuple[str, bytes]] = []
    if job.error is None:
        buffer = io.BytesIO()
        np.save(buffer, job.results_payload(), allow_pickle=True)  # type: ignore[arg-type]
        members.append(("results.npy", buffer.getvalue()))
        members.append(
            ("stdout.txt", f"job {job.pid}: {job.nshots} shots on {job.device.name}\n".encode())
        )
        members.append(("stderr.txt", b""))
    else:
        members.append(("stdout.txt", f"job {job.pid} on {job.device.name}\n".encode()))
        members.append(("stderr.txt", (job.error + "\n").encode()))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


_SIM = Partition("sim", 30, "simulator", "state-vector simulator")


#: Project name -> the partitions (devices) its quota covers.
PROJECTS: Final[dict[str, tuple[Partition, ...]]] = {
    "personal": (
        _SIM,
        Partition("qw5q", 5, "hardware", "5-qubit chip (emulated)"),
        Partition("qjobs_fail", 30, "simulator", "every job ends in error", always_fails=True),
    ),
    "team": (_SIM,),
}


#: Each quota's allowance when a user is first seen.
QUOTA_LIMITS: Final = {"seconds": 36_000, "shots": 10_000_000, "jobs": 100_000}
#: Each user's disk allowance (kB).
DISK_KB: Final = 1_000_000


@attrs.define
class Quota:
    """A user's allowance on one (project, partition)."""

    id: int
    project: str
    partition: Partition
    seconds_left: float = QUOTA_LIMITS["seconds"]
    shots_left: int = QUOTA_LIMITS["shots"]
    jobs_left: int = QUOTA_LIMITS["jobs"]

    def to_json(self) -> dict[str, Any]:
        """The ``/api/projectquotas/`` entry."""
        return {
            "id": self.id,
            "project": self.project,
            "partition": self.partition.to_json(),
            "max_num_shots": MAX_SHOTS,
            "max_walltime_seconds": 3600,
            "seconds_left": round(self.seconds_left, 3),
            "seconds_max": QUOTA_LIMITS["seconds"],
            "shots_left": self.shots_left,
            "shots_max": QUOTA_LIMITS["shots"],
            "jobs_left": self.jobs_left,
            "jobs_max": QUOTA_LIMITS["jobs"],
            "prealloc_seconds": 0,
            "prealloc_shots": 0,
            "prealloc_jobs": 0,
        }


@attrs.define
class QiboUser:
    """One token's user: its (hashed) key, email, quotas and disk allowance."""

    key: str
    email: str
    quotas: list[Quota]
    kbs_left: float = float(DISK_KB)
