"""State of the QPI emulator: users, tokens, QPUs, jobs, slots, and the per-QPU dispatcher.

No background task runs. Before answering, the emulator calls :meth:`QPIState.advance`, which
replays what QPI's dispatchers would have done up to the clock's current reading: each online,
enabled QPU runs one job at a time; a job becomes eligible ``queue_time`` after submission; the
owner of the time slot booked at that moment goes first, otherwise the oldest eligible job whose
``qpu_target`` is that QPU. A job runs for ``exec_time`` seconds (or, when that is 0, a nominal
1 ms per shot) and that duration is deducted from its owner's ``qpu_seconds``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs
import numpy as np

from qjobs._core.errors import QJobsError
from qjobs.circuit._ir import Circuit
from qjobs.emulators._common import EmulatorContext
from qjobs.emulators._common.clock import Lifecycle

__all__ = [
    "DEFAULT_ADMIN_EMAIL",
    "DEFAULT_ADMIN_PASSWORD",
    "DEFAULT_QPU_SECONDS",
    "DEFAULT_USER_EMAIL",
    "DEFAULT_USER_PASSWORD",
    "MAX_SIM_QUBITS",
    "JobRec",
    "QPIState",
    "QPURec",
    "UserRec",
    "hash_secret",
    "pb_time",
]

DEFAULT_USER_EMAIL: Final = "user@qpi.local"
DEFAULT_USER_PASSWORD: Final = "qpi-user-password"
DEFAULT_ADMIN_EMAIL: Final = "admin@qpi.local"
DEFAULT_ADMIN_PASSWORD: Final = "qpi-admin-password"
#: The default user's starting balance (seconds of QPU time).
DEFAULT_QPU_SECONDS: Final = 3600.0
#: Balance of the proxy user a superuser acts as on the job routes.
SUPERUSER_SECONDS: Final = 999_999_999.0
#: Widest circuit the emulator simulates; wider jobs fail with the driver's message.
MAX_SIM_QUBITS: Final = 24
#: Count keys are listed for every outcome (zeros included) up to this many bits.
MAX_DENSE_BITS: Final = 12
#: Nominal execution time per shot when the server's ``exec_time`` is 0 (seconds).
SECONDS_PER_SHOT: Final = 1e-3
_ID_ALPHABET: Final = string.ascii_lowercase + string.digits


def hash_secret(token: str) -> str:
    """The sha256 hex digest under which QPI stores API and access tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


def pb_time(moment: datetime) -> str:
    """PocketBase's timestamp format: ``2026-07-24 12:34:56.789Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@attrs.define
class UserRec:
    """A ``users`` record (or a superuser): password kept as a salted PBKDF2 hash only."""

    id: str
    email: str
    name: str
    salt: str
    password_hash: str
    qpu_seconds: float
    created: datetime
    superuser: bool = False

    def check(self, password: str) -> bool:
        """Whether ``password`` is this user's password."""
        return secrets.compare_digest(_hash_password(password, self.salt), self.password_hash)

    def to_json(self) -> dict[str, Any]:
        """The record as PocketBase returns it (no password material)."""
        out: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "verified": True,
            "created": pb_time(self.created),
            "updated": pb_time(self.created),
        }
        if not self.superuser:
            out["qpu_seconds"] = self.qpu_seconds
        return out


@attrs.define
class TokenRec:
    """An ``api_tokens`` record: only the sha256 of the token is kept."""

    id: str
    user_id: str
    name: str
    token_hash: str
    expires_at: datetime | None
    created: datetime

    def to_json(self) -> dict[str, Any]:
        """The token's public fields."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "created": pb_time(self.created)}
        if self.expires_at is not None:
            out["expires_at"] = pb_time(self.expires_at)
        return out


@attrs.define
class QPURec:
    """A ``qpus`` record plus the dispatcher's state for it. Its id is its name."""

    name: str
    num_qubits: int
    executor_type: str
    status: str
    enabled: bool
    created: datetime
    access_hash: str | None = None
    free_at: float = 0.0
    current: JobRec | None = None

    @property
    def usable(self) -> bool:
        """Online and enabled: the dispatcher hands it jobs."""
        return self.status == "online" and self.enabled

    def to_json(self) -> dict[str, Any]:
        """The QPU record."""
        return {
            "id": self.name,
            "name": self.name,
            "num_qubits": self.num_qubits,
            "executor_type": self.executor_type,
            "status": self.status,
            "enabled": self.enabled,
            "created": pb_time(self.created),
            "updated": pb_time(self.created),
        }


@attrs.define
class JobRec:
    """A ``quantum_jobs`` record and its timeline."""

    id: str
    seq: int
    user_id: str
    qpu_target: str
    payload: dict[str, Any]
    lifecycle: Lifecycle
    created: datetime
    eligible_at: float
    fails: bool = False
    status: str = "pending"
    updated: datetime | None = None
    started_at: float | None = None
    finish_at: float | None = None
    finished_at: datetime | None = None
    duration: float | None = None
    results: dict[str, Any] | None = None

    def to_json(self, *, payload_as_results: bool = False) -> dict[str, Any]:
        """The job record: its stored results, or with ``payload_as_results`` the payload copy
        that qpi-ui v0.1.x's custom job routes return in their place (spec section 8)."""
        out: dict[str, Any] = {
            "id": self.id,
            "user_id": self.user_id,
            "qpu_target": self.qpu_target,
            "payload": self.payload,
            "status": self.status,
            "created": pb_time(self.created),
            "updated": pb_time(self.updated or self.created),
        }
        if self.finished_at is not None:
            out["finished_at"] = pb_time(self.finished_at)
        if self.duration is not None:
            out["duration"] = self.duration
        if payload_as_results:
            out["results"] = self.payload
        elif self.results is not None:
            out["results"] = self.results
        return out


class QPIState:
    """Everything the QPI emulator stores, and the dispatcher that moves jobs along."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.users: dict[str, UserRec] = {}
        self.superusers: dict[str, UserRec] = {}
        self.tokens: dict[str, TokenRec] = {}
        self.jwts: dict[str, tuple[str, str]] = {}  # jwt -> (collection, record id)
        self.qpus: dict[str, QPURec] = {}
        self.jobs: dict[str, JobRec] = {}
        self.slots: dict[str, dict[str, Any]] = {}
        self.time_requests: dict[str, dict[str, Any]] = {}
        self.notifications: dict[str, dict[str, Any]] = {}
        self._seq = 0
        #: Reproduce qpi-ui v0.1.x's bug: ``/api/jobs*`` answer ``results`` = the payload (the
        #: stored results stay readable through the ``quantum_jobs`` collection route).
        self.payload_in_results = False
        self.default_user = self.add_user(
            DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD, qpu_seconds=DEFAULT_QPU_SECONDS
        )
        self.admin = self.add_user(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, superuser=True)
        configured = sorted(ctx.options.tokens or ())
        for token in configured[:1]:
            self.add_token(self.default_user.id, token, name="configured")
        self.add_qpu("qiskit_aer", 20, "qiskit_aer", online=True)
        self.add_qpu("qpi", 5, "qpi_emulator", online=True)
        self.add_notification(
            "Welcome", "The QPI emulator is ready.", target_users=[], type_="info"
        )
        # Each further configured token is a user of its own: jobs belong to whoever made them.
        for n, token in enumerate(configured[1:], start=2):
            other = self.add_user(
                f"user{n}@qpi.local", DEFAULT_USER_PASSWORD, qpu_seconds=DEFAULT_QPU_SECONDS
            )
            self.add_token(other.id, token, name="configured")

    # -- time and ids ------------------------------------------------------------------------
    def wall(self, reading: float | None = None) -> datetime:
        """The wall-clock time of a clock reading (default: now)."""
        clock = self.ctx.clock
        text = clock.iso(clock.now() if reading is None else reading)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    def reading(self, moment: datetime) -> float:
        """The clock reading of a wall-clock time."""
        now = self.ctx.clock.now()
        return now + (moment - self.wall(now)).total_seconds()

    def new_id(self) -> str:
        """A PocketBase-style 15-character id (seeded)."""
        return "".join(self.ctx.rng.choice(_ID_ALPHABET) for _ in range(15))

    def new_secret(self, prefix: str = "", nbytes: int = 32) -> str:
        """A random secret (seeded, hex)."""
        return prefix + f"{self.ctx.rng.getrandbits(8 * nbytes):0{2 * nbytes}x}"

    # -- records -----------------------------------------------------------------------------
    def add_user(
        self,
        email: str,
        password: str,
        *,
        qpu_seconds: float = 0.0,
        name: str | None = None,
        superuser: bool = False,
    ) -> UserRec:
        """Create a user (or a superuser) with a password and a QPU-seconds balance."""
        salt = self.new_secret(nbytes=8)
        user = UserRec(
            id=self.new_id(),
            email=email,
            name=name if name is not None else email.split("@")[0],
            salt=salt,
            password_hash=_hash_password(password, salt),
            qpu_seconds=SUPERUSER_SECONDS if superuser else float(qpu_seconds),
            created=self.wall(),
            superuser=superuser,
        )
        (self.superusers if superuser else self.users)[user.id] = user
        return user

    def add_token(
        self, user_id: str, token: str, *, name: str = "", expires_at: datetime | None = None
    ) -> TokenRec:
        """Register an API token for a user; only its hash is kept."""
        rec = TokenRec(self.new_id(), user_id, name, hash_secret(token), expires_at, self.wall())
        self.tokens[rec.id] = rec
        return rec

    def token_user(self, token: str) -> UserRec | None:
        """The user holding a valid (unexpired) API token, by the token's hash."""
        digest = hash_secret(token)
        now = self.wall()
        for rec in self.tokens.values():
            if secrets.compare_digest(rec.token_hash, digest):
                if rec.expires_at is not None and rec.expires_at <= now:
                    return None
                return self.users.get(rec.user_id)
        return None

    def issue_jwt(self, collection: str, user: UserRec) -> str:
        """A PocketBase-style auth token for a user or superuser."""
        jwt = "eyJhbGciOiJIUzI1NiJ9." + self.new_secret(nbytes=24) + "." + self.new_secret()
        self.jwts[jwt] = (collection, user.id)
        return jwt

    def add_qpu(
        self,
        name: str,
        num_qubits: int,
        executor_type: str,
        *,
        online: bool = False,
        enabled: bool = True,
        access_token: str | None = None,
    ) -> QPURec:
        """Create a QPU (offline until a driver connects, unless ``online``)."""
        qpu = QPURec(
            name=name,
            num_qubits=num_qubits,
            executor_type=executor_type,
            status="online" if online else "offline",
            enabled=enabled,
            created=self.wall() + timedelta(microseconds=len(self.qpus)),
            access_hash=hash_secret(access_token) if access_token else None,
            free_at=self.ctx.clock.now(),
        )
        self.qpus[name] = qpu
        return qpu

    def add_notification(
        self, title: str, message: str, *, target_users: list[str], type_: str = "info"
    ) -> dict[str, Any]:
        """Create a notification (``target_users`` empty: everyone)."""
        now = pb_time(self.wall())
        rec: dict[str, Any] = {
            "id": self.new_id(),
            "title": title,
            "message": message,
            "type": type_,
            "target_users": list(target_users),
            "dismissed_by": [],
            "created": now,
            "updated": now,
        }
        self.notifications[rec["id"]] = rec
        return rec

    def first_online_qpu(self) -> QPURec | None:
        """The oldest online, enabled QPU (where an empty ``qpu_target`` goes)."""
        usable = [q for q in self.qpus.values() if q.usable]
        return min(usable, key=lambda q: q.created) if usable else None

    # -- jobs --------------------------------------------------------------------------------
    def add_job(self, user: UserRec, target: str, payload: dict[str, Any]) -> JobRec:
        """Store a new pending job."""
        self._seq += 1
        opts = self.ctx.options
        lifecycle = self.ctx.new_lifecycle()
        now = lifecycle.submitted
        job = JobRec(
            id=self.new_id(),
            seq=self._seq,
            user_id=user.id,
            qpu_target=target,
            payload=payload,
            lifecycle=lifecycle,
            created=self.wall(now),
            eligible_at=now + opts.queue_time,
            fails=self.ctx.draw_failure(),
        )
        self.jobs[job.id] = job
        self.ctx.stats.track_job(lifecycle, payload["circuits"])
        return job

    def cancel(self, job: JobRec) -> bool:
        """Cancel a pending or running job; False when it is already final."""
        if job.status not in ("pending", "running"):
            return False
        now = self.ctx.clock.now()
        job.lifecycle.cancel(now)
        qpu = self.qpus.get(job.qpu_target)
        if qpu is not None and qpu.current is job:
            qpu.current = None
            qpu.free_at = now
        job.status = "cancelled"
        job.updated = self.wall(now)
        return True

    def slot_owner(self, reading: float) -> str | None:
        """The user holding the time slot booked at a clock reading, if any."""
        moment = self.wall(reading)
        for slot in self.slots.values():
            if slot["_start"] <= moment < slot["_end"]:
                owner: str = slot["booked_by"]
                return owner
        return None

    def advance(self) -> None:
        """Replay every QPU's dispatcher up to now (start, finish and charge jobs)."""
        now = self.ctx.clock.now()
        for qpu in self.qpus.values():
            self._run_qpu(qpu, now)

    def _run_qpu(self, qpu: QPURec, now: float) -> None:
        while True:
            if qpu.current is not None:
                job = qpu.current
                assert job.finish_at is not None
                if job.finish_at > now:
                    return
                self._finish(job)
                qpu.current = None
                qpu.free_at = job.finish_at
            if not qpu.usable:
                return
            pending = [
                j for j in self.jobs.values() if j.status == "pending" and j.qpu_target == qpu.name
            ]
            if not pending:
                return
            start = max(qpu.free_at, min(j.eligible_at for j in pending))
            if start > now:
                return
            ready = [j for j in pending if j.eligible_at <= start]
            owner = self.slot_owner(start)
            first = [j for j in ready if j.user_id == owner] or ready
            job = min(first, key=lambda j: j.seq)
            self._start(qpu, job, start)

    def _start(self, qpu: QPURec, job: JobRec, start: float) -> None:
        opts = self.ctx.options
        shots = sum(int(c.get("shots") or job.payload["shots"]) for c in job.payload["circuits"])
        duration = opts.exec_time if opts.exec_time > 0 else shots * SECONDS_PER_SHOT
        job.status = "running"
        job.started_at = start
        job.finish_at = start + opts.exec_time
        job.updated = self.wall(start)
        job.duration = round(duration, 6)
        job.lifecycle.queue_time = start - job.lifecycle.submitted
        job.lifecycle.exec_time = opts.exec_time
        qpu.current = job

    def _finish(self, job: JobRec) -> None:
        assert job.finish_at is not None
        qpu = self.qpus[job.qpu_target]
        if job.fails:
            results: dict[str, Any] = {"error": "Execution failed on the QPU driver."}
        else:
            results = execute(job.payload, qpu, self.ctx.job_rng(job.seq))
        job.results = results
        job.status = "failed" if "error" in results else "completed"
        job.finished_at = self.wall(job.finish_at)
        job.updated = job.finished_at
        user = self.users.get(job.user_id)
        if user is not None and job.duration is not None:
            user.qpu_seconds = round(user.qpu_seconds - job.duration, 6)


# ------------------------------------------------------------------------------ execution
class _DriverError(Exception):
    """A job the driver cannot run; the message becomes ``results.error``."""


def _bind(circuit: Circuit, values: Any, where: str) -> Circuit:
    names = circuit.parameters
    if not isinstance(values, list) or len(values) != len(names):
        raise _DriverError(
            f"{where}: expected {len(names)} parameter values {list(names)}, got {values!r}"
        )
    try:
        return circuit.bind({n: float(v) for n, v in zip(names, values, strict=True)})
    except (TypeError, ValueError, QJobsError) as exc:
        raise _DriverError(f"{where}: {exc}") from None


def _width(circuit: Circuit) -> int:
    return circuit.num_clbits if circuit.measured_clbits else circuit.num_qubits


def _run_one(
    circuit: Circuit, shots: int, level: int, meas_return: str, rng: np.random.Generator
) -> dict[str, Any]:
    from qjobs import sim

    active = len({q for ins in circuit.instructions for q in ins.qubits})
    if circuit.num_qubits > MAX_SIM_QUBITS and active > MAX_SIM_QUBITS:
        raise _DriverError(f"the emulator simulates at most {MAX_SIM_QUBITS} qubits")
    try:
        outcomes = np.asarray(sim.sample(circuit, shots, seed=rng), dtype=np.int64)
    except (QJobsError, ValueError, MemoryError) as exc:
        raise _DriverError(f"simulation failed: {exc}") from None
    n = _width(circuit)
    if level == 1:
        bits = ((outcomes[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
        i_part = (2.0 * bits - 1.0) + rng.normal(0.0, 0.2, bits.shape)
        q_part = rng.normal(0.0, 0.2, bits.shape)
        iq = np.stack([i_part, q_part], axis=-1).round(6)
        memory = iq.mean(axis=0).round(6).tolist() if meas_return == "avg" else iq.tolist()
        return {"memory": memory, "shots": shots}
    tally = np.bincount(outcomes, minlength=1 << n) if n <= MAX_DENSE_BITS else None
    if tally is not None:
        counts = {format(k, f"0{n}b"): int(c) for k, c in enumerate(tally)}
    else:
        values, freq = np.unique(outcomes, return_counts=True)
        counts = {format(int(k), f"0{n}b"): int(c) for k, c in zip(values, freq, strict=True)}
    return {"counts": counts, "shots": shots}


def execute(payload: dict[str, Any], qpu: QPURec, rng: np.random.Generator) -> dict[str, Any]:
    """Run a job payload as a QPI driver would: one result per circuit and per parameter set.

    Returns the driver's ``results`` object, or ``{"error": message}`` when the job fails.
    """
    level = payload.get("meas_level", 2)
    meas_return = payload.get("meas_return") or "single"
    try:
        if level not in (1, 2):
            raise _DriverError(f"meas_level {level!r} is not supported (use 1 or 2)")
        if meas_return not in ("single", "avg"):
            raise _DriverError(f"meas_return {meas_return!r} is not supported (single or avg)")
        entries: list[dict[str, Any]] = []
        for i, item in enumerate(payload["circuits"]):
            where = f"circuits[{i}]"
            try:
                circuit = Circuit.from_qasm(item["circuit"])
            except QJobsError as exc:
                raise _DriverError(f"{where}: cannot parse OpenQASM: {exc}") from None
            if circuit.num_qubits > qpu.num_qubits:
                raise _DriverError(
                    f"{where}: circuit uses {circuit.num_qubits} qubits; "
                    f"QPU {qpu.name} has {qpu.num_qubits}"
                )
            shots = int(item.get("shots") or payload["shots"])
            sets = item.get("parameter_values") or None
            if circuit.parameters and not sets:
                raise _DriverError(f"{where}: unbound parameters {list(circuit.parameters)}")
            bound = (
                [circuit]
                if not sets
                else [
                    _bind(circuit, values, f"{where}.parameter_values[{k}]")
                    if circuit.parameters
                    else circuit
                    for k, values in enumerate(sets)
                ]
            )
            entries.extend(_run_one(c, shots, level, meas_return, rng) for c in bound)
    except _DriverError as exc:
        return {"error": str(exc)}
    results: dict[str, Any] = {
        "shots": payload["shots"],
        "backend": qpu.name,
        "success": True,
        "circuit_results": entries,
    }
    first = entries[0]
    results["counts" if "counts" in first else "memory"] = first.get("counts", first.get("memory"))
    return results
