"""In-memory records of the IonQ emulator: jobs (lifecycle, simulation, the v0.4 job object),
sessions, and the bounded log of answered requests.

The request log keeps each request's method, path, query string, response status and headers,
with credentials redacted: ``Authorization`` keeps only its scheme (``apiKey ***``), and any
other header whose name mentions a key, token, secret, cookie or auth is ``***``. The token
itself is never stored, so the log can be served as is from ``GET /_qjobs/ionq/requests``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import attrs
import numpy as np

from qjobs._core.errors import QJobsError
from qjobs.circuit._ir import Circuit
from qjobs.emulators._common.circuits import drop_idle_qubits
from qjobs.emulators._common.clock import Clock, Lifecycle, Phase
from qjobs.emulators.ionq.wire import PREFIX, gate_counts

__all__ = [
    "MAX_RECORDED",
    "MAX_SIM_QUBITS",
    "SHOTS_ARTIFACT",
    "IonQJob",
    "IonQSession",
    "Outcomes",
    "RecordedRequest",
    "RequestLog",
    "redact_headers",
    "status_of",
]

#: Widest register (after dropping idle qubits) the emulator simulates; wider jobs fail.
MAX_SIM_QUBITS: Final = 24

#: The artifact kind of per-shot registers (``ionq.qasm3.v1`` jobs).
SHOTS_ARTIFACT: Final = "ionq.result.shots.json.v2"


def status_of(job: IonQJob, now: float) -> str:
    """The IonQ status string: submitted -> ready -> started -> completed|failed, or canceled.

    A queued job reads ``submitted`` during the first half of its queue time, then ``ready``.
    """
    phase = job.phase(now)
    if phase is Phase.QUEUED:
        lc = job.lifecycle
        return "submitted" if now - lc.submitted < lc.queue_time / 2 else "ready"
    return {
        Phase.RUNNING: "started",
        Phase.DONE: "completed",
        Phase.FAILED: "failed",
        Phase.CANCELED: "canceled",
    }[phase]


@attrs.define
class Outcomes:
    """Simulated results: exact or sampled probabilities and the per-shot outcomes."""

    probabilities: dict[int, float]
    samples: np.ndarray[Any, np.dtype[np.int64]]

    def counts(self) -> dict[int, int]:
        """Shot counts by outcome (zeros omitted)."""
        values, counts = np.unique(self.samples, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def _expand(index: np.ndarray[Any, Any], kept: list[int]) -> np.ndarray[Any, np.dtype[np.int64]]:
    out = np.zeros(index.shape, dtype=np.int64)
    for j, q in enumerate(kept):
        out |= ((index >> j) & 1) << q
    return out


def simulate(circuit: Circuit, shots: int, ideal: bool, rng: np.random.Generator) -> Outcomes:
    """Run ``circuit`` on :mod:`qjobs.sim`.

    Ideal: exact probabilities; otherwise probabilities are the sampled counts over ``shots``.
    Circuits without classical bits (``ionq.circuit.v1``) are simulated on the qubits they touch.
    """
    from qjobs import sim

    if circuit.num_clbits == 0:
        small, kept = drop_idle_qubits(circuit)
        probs = np.asarray(sim.probabilities(small), dtype=np.float64)
        samples = _expand(np.asarray(sim.sample(small, shots, seed=rng), dtype=np.int64), kept)
        nonzero = np.flatnonzero(probs > 1e-12)
        keys = _expand(nonzero, kept)
        exact = {int(k): float(probs[i]) for k, i in zip(keys, nonzero, strict=True)}
    else:
        probs = np.asarray(sim.probabilities(circuit), dtype=np.float64)
        samples = np.asarray(sim.sample(circuit, shots, seed=rng), dtype=np.int64)
        exact = {int(i): float(probs[i]) for i in np.flatnonzero(probs > 1e-12)}
    outcomes = Outcomes(exact, samples)
    if not ideal:
        outcomes.probabilities = {k: c / shots for k, c in sorted(outcomes.counts().items())}
    return outcomes


@attrs.define
class IonQJob:
    """One job (or multi-circuit parent) held by the emulator."""

    id: str
    seq: int
    type: str
    backend: str
    name: str | None
    shots: int
    lifecycle: Lifecycle
    circuit: Circuit | None
    owner: str = ""
    metadata: Any = None
    noise: Any = None
    settings: Any = None
    dry_run: bool = False
    session_id: str | None = None
    parent_id: str | None = None
    children: list[IonQJob] = attrs.Factory(list)
    extra: dict[str, Any] = attrs.Factory(dict)
    failure: dict[str, str] | None = None
    artifacts: dict[str, Any] = attrs.Factory(dict)
    rng: np.random.Generator | None = None
    outcomes: Outcomes | None = None

    @property
    def ideal(self) -> bool:
        """True on the simulator with the ideal noise model (exact probabilities)."""
        if self.backend != "simulator":
            return False
        model = self.noise.get("model", "ideal") if isinstance(self.noise, dict) else "ideal"
        return bool(model == "ideal")

    @property
    def qubits(self) -> int:
        """Width: the circuit's, or the widest child's."""
        if self.circuit is not None:
            return self.circuit.num_qubits
        return max((c.qubits for c in self.children), default=0)

    def phase(self, now: float) -> Phase:
        """The lifecycle phase; a parent fails when a child fails."""
        phase = self.lifecycle.phase(now)
        if phase is Phase.DONE and any(c.phase(now) is Phase.FAILED for c in self.children):
            return Phase.FAILED
        if phase is Phase.DONE and not self.dry_run and not self.ensure_outcomes():
            return Phase.FAILED
        return phase

    def ensure_outcomes(self) -> bool:
        """Simulate once (on first need); on a simulator error mark the job failed."""
        if self.circuit is None or self.outcomes is not None:
            return True
        if self.lifecycle.fails:
            return False
        assert self.rng is not None
        try:
            self.outcomes = simulate(self.circuit, self.shots, self.ideal, self.rng)
        except (QJobsError, ValueError, MemoryError) as exc:
            self.lifecycle.fails = True
            self.failure = {"code": "SimulationError", "error": str(exc)}
            return False
        return True

    def result_urls(self, prefix: str = PREFIX) -> dict[str, Any]:
        """The ``results`` object of a completed job: server-relative URLs under ``prefix``.

        ``prefix`` is where the v0.4 API lives on the server (``/v0.4``, or ``/ionq/v0.4`` on a
        server shared with other emulators).
        """
        base = f"{prefix}/jobs/{self.id}/results"
        if self.children:
            return {
                "probabilities": {"url": f"{base}/probabilities/aggregated"},
                "histogram": {"url": f"{base}/histogram"},
            }
        out: dict[str, Any] = {
            "probabilities": {"url": f"{base}/probabilities"},
            "shots": {"url": f"{base}/shots"},
            "histogram": {"url": f"{base}/histogram"},
        }
        for artifact_id, artifact in self.artifacts.items():
            if artifact["kind"] == SHOTS_ARTIFACT:
                out[SHOTS_ARTIFACT] = {"id": artifact_id, "media_type": "application/json"}
        return out

    def to_json(self, clock: Clock, prefix: str = PREFIX) -> dict[str, Any]:
        """The v0.4 job object at the clock's current reading (result URLs under ``prefix``)."""
        now = clock.now()
        lc = self.lifecycle
        phase = self.phase(now)
        status = status_of(self, now)
        started = lc.started if phase is not Phase.QUEUED else None
        if phase is Phase.CANCELED and lc.canceled_at is not None and lc.canceled_at < lc.started:
            started = None
        completed = None
        if phase.is_final:
            completed = lc.canceled_at if phase is Phase.CANCELED else lc.finished
        circuits = len(self.children) if self.children else 1
        counts: dict[str, int] = {"1q": 0, "2q": 0}
        for c in self.children or [self]:
            if c.circuit is not None:
                for k, v in gate_counts(c.circuit).items():
                    counts[k] = counts.get(k, 0) + v
        failure = None
        if phase is Phase.FAILED:
            failure = self.failure or next(
                (c.failure for c in self.children if c.failure),
                {"code": "JobFailed", "error": "the job failed"},
            )
        output: dict[str, Any] = {}
        if self.dry_run and phase is Phase.DONE:
            output = {
                "compilation": {
                    "compiled_circuits": {
                        a["format"]: {
                            "id": aid,
                            "format": a["format"],
                            "media_type": "application/json",
                        }
                        for aid, a in self.artifacts.items()
                        if a["kind"] == "compiled"
                    }
                }
            }
        body: dict[str, Any] = {
            "id": self.id,
            "status": status,
            "type": self.type,
            "backend": self.backend,
            "name": self.name,
            "shots": self.shots,
            "dry_run": self.dry_run,
            "noise": self.noise,
            "settings": self.settings if self.settings is not None else {},
            "submitter_id": "qjobs-emulator",
            "project_id": "qjobs-emulator-project",
            "parent_job_id": self.parent_id,
            "child_job_ids": [c.id for c in self.children] if self.children else None,
            "session_id": self.session_id,
            "metadata": self.metadata if self.metadata is not None else {},
            "submitted_at": clock.iso(lc.submitted),
            "started_at": clock.iso(started) if started is not None else None,
            "completed_at": clock.iso(completed) if completed is not None else None,
            "predicted_execution_duration_ms": round(lc.exec_time * 1000),
            "predicted_wait_time_ms": (
                round((lc.started - now) * 1000) if phase is Phase.QUEUED else None
            ),
            "execution_duration_ms": (
                round(lc.exec_time * 1000) if phase in (Phase.DONE, Phase.FAILED) else None
            ),
            "failure": failure,
            "stats": {"qubits": self.qubits, "circuits": circuits, "gate_counts": counts},
            "results": (
                self.result_urls(prefix) if phase is Phase.DONE and not self.dry_run else None
            ),
            "output": output,
        }
        return body


@attrs.define
class IonQSession:
    """One session: its backend and settings, owner, and the jobs submitted in it."""

    id: str
    backend: str
    settings: dict[str, Any]
    created: float
    owner: str
    ended: float | None = None
    job_ids: list[str] = attrs.Factory(list)


#: How many recent requests the log keeps.
MAX_RECORDED: Final = 64
_REDACTED: Final = "***"
_SECRET_WORDS: Final = ("auth", "token", "key", "secret", "cookie", "password")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with every credential replaced by ``***``.

    ``Authorization: apiKey abc`` becomes ``apiKey ***`` (the scheme is kept so tests can check
    the form); every other header whose lower-cased name contains a secret-looking word is
    replaced entirely.
    """
    out: dict[str, str] = {}
    for key, value in headers.items():
        name = str(key)  # aiohttp's istr is not a plain str (orjson refuses it)
        low = name.lower()
        if low == "authorization":
            scheme, sep, _rest = value.strip().partition(" ")
            out[name] = f"{scheme} {_REDACTED}" if sep else _REDACTED
        elif any(word in low for word in _SECRET_WORDS):
            out[name] = _REDACTED
        else:
            out[name] = value
    return out


@attrs.frozen
class RecordedRequest:
    """One answered request: what the client sent (headers redacted) and the status returned."""

    method: str
    path: str
    query: str
    status: int
    headers: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        """The JSON form served by ``GET /_qjobs/ionq/requests``."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "headers": dict(self.headers),
        }


class RequestLog:
    """The last :data:`MAX_RECORDED` requests, oldest first."""

    def __init__(self, size: int = MAX_RECORDED) -> None:
        self._entries: deque[RecordedRequest] = deque(maxlen=size)

    def record(
        self, method: str, path: str, query: str, status: int, headers: Mapping[str, str]
    ) -> None:
        """Add one request (its headers are redacted here, before anything is stored)."""
        self._entries.append(RecordedRequest(method, path, query, status, redact_headers(headers)))

    @property
    def entries(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first."""
        return list(self._entries)

    @property
    def last(self) -> RecordedRequest | None:
        """The most recent request, or None."""
        return self._entries[-1] if self._entries else None

    def clear(self) -> None:
        """Forget every recorded request."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
