"""Reading a SQLite ledger without running anything: what it holds, and whether it is sound.

The file is opened read-only (``file:...?mode=ro``) and the ledger's lock file is never touched,
so a ledger can be inspected while its run is going, after the run was killed (even by SIGKILL:
committed rows are in the WAL) and after it finished. Nothing here writes to the file.

:func:`read_ledger` gives a :class:`LedgerView` (targets, jobs, circuits; results are only
counted), :func:`iter_results` decodes the stored results one by one, :func:`verify_ledger` lists
what is wrong. Every failure to read is a :class:`~qjobs.LedgerError` naming the path.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from qjobs._core.errors import LedgerError, QJobsError
from qjobs._core.models import Result
from qjobs.scheduler._ledger_records import unpack_result

__all__ = [
    "IN_FLIGHT",
    "LedgerCircuit",
    "LedgerJob",
    "LedgerView",
    "Target",
    "iter_results",
    "read_ledger",
    "verify_ledger",
]

#: The ledger format this module reads (``meta.version``).
_VERSION = "2"
#: Job statuses of a job that exists at the provider and may still run.
IN_FLIGHT = frozenset({"queued", "running", "cancelling", "unknown"})


@attrs.frozen(slots=True)
class Target:
    """Where jobs ran: a provider and its endpoint; both None when the file did not record it."""

    provider: str | None
    endpoint: str | None

    @property
    def label(self) -> str:
        """``provider endpoint``, or a note that the ledger has no record of it."""
        if self.provider is None:
            return "(target not recorded)"
        return f"{self.provider} {self.endpoint}"


_UNRECORDED = Target(None, None)


@attrs.frozen(slots=True)
class LedgerJob:
    """A provider job as the ledger records it.

    ``status`` is the ledger's: ``intent`` (no job id yet), a job status (``queued``, ...,
    ``completed``), ``absent``, ``rejected`` or ``lost``. ``circuits`` counts the circuits whose
    current job it is, ``results`` those of them with a stored result.
    """

    key: str
    job_id: str | None
    status: str
    size: int
    error: str | None
    target: Target
    circuits: int
    results: int

    @property
    def in_flight(self) -> bool:
        """True for a job created at the provider and not final there (as last recorded)."""
        return self.job_id is not None and self.status in IN_FLIGHT


@attrs.frozen(slots=True)
class LedgerCircuit:
    """A circuit as the ledger records it; ``state`` is ``completed`` when its result is stored,
    else its current job's status (``unplaced`` when it names no known job)."""

    key: str
    index: int
    job_key: str | None
    position: int | None
    has_result: bool
    losses: int
    state: str
    target: Target


@attrs.frozen(slots=True)
class LedgerView:
    """Everything a ledger holds except the result payloads."""

    path: str
    version: str
    targets: list[Target]
    jobs: list[LedgerJob]
    circuits: list[LedgerCircuit]

    def states(self, target: Target | None = None) -> dict[str, int]:
        """Circuits per state (of ``target`` only, when given), most common first."""
        counts = Counter(c.state for c in self.circuits if target in (None, c.target))
        return dict(counts.most_common())

    def job_statuses(self, target: Target | None = None) -> dict[str, int]:
        """Jobs per recorded status (of ``target`` only, when given), most common first."""
        counts = Counter(j.status for j in self.jobs if target in (None, j.target))
        return dict(counts.most_common())

    @property
    def in_flight(self) -> list[LedgerJob]:
        """The jobs created at the provider and not final there, as last recorded."""
        return [j for j in self.jobs if j.in_flight]

    @property
    def results(self) -> int:
        """How many circuits have a stored result."""
        return sum(c.has_result for c in self.circuits)


def _error(path: str, problem: str) -> LedgerError:
    return LedgerError(f"ledger {path!r} {problem}")


@contextmanager
def _reading(path: str | os.PathLike[str]) -> Iterator[tuple[str, sqlite3.Connection]]:
    """A read-only connection to the ledger at ``path``, its format checked."""
    shown = os.fspath(path)
    if os.path.isdir(shown):
        raise _error(shown, "is a directory, not a ledger file")
    if not os.path.exists(shown):
        raise _error(shown, "does not exist")
    uri = "file:" + urllib.parse.quote(os.path.abspath(shown)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        raise _error(shown, f"cannot be opened ({exc})") from None
    try:
        try:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise _error(shown, f"is not a qjobs ledger (not a SQLite database: {exc})") from None
        if not {"meta", "batches", "circuits"} <= tables:
            held = ", ".join(sorted(tables)[:5]) or "nothing"
            raise _error(shown, f"is not a qjobs ledger (a SQLite file holding {held})")
        try:
            found = conn.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
            if found is None:
                raise _error(shown, "is not a qjobs ledger (no format version)")
            if found[0] != _VERSION:
                raise _error(
                    shown,
                    f"is a qjobs ledger of format {found[0]!r}; this qjobs reads {_VERSION!r}",
                )
            yield shown, conn
        except sqlite3.DatabaseError as exc:  # e.g. "database disk image is malformed"
            raise _error(shown, f"cannot be read ({exc})") from None
    finally:
        conn.close()


def _targets(conn: sqlite3.Connection) -> tuple[list[Target], dict[str, Target]]:
    """The recorded targets, and the target of each job key (empty for an older file)."""
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if not {"targets", "batch_targets"} <= tables:
        return [], {}
    by_id = {
        tid: Target(provider, endpoint)
        for tid, provider, endpoint in conn.execute(
            "SELECT id, provider, endpoint FROM targets ORDER BY id"
        )
    }
    of_job = {
        batch: by_id.get(tid, _UNRECORDED)
        for batch, tid in conn.execute("SELECT batch, target FROM batch_targets")
    }
    return list(by_id.values()), of_job


def read_ledger(path: str | os.PathLike[str]) -> LedgerView:
    """What the ledger at ``path`` holds (read-only; result payloads are not loaded).

    Raises :class:`~qjobs.LedgerError` when the file is missing, is not a qjobs ledger of this
    format, or cannot be read (corrupt).
    """
    with _reading(path) as (shown, conn):
        targets, of_job = _targets(conn)
        raw_jobs = conn.execute(
            "SELECT key, size, job_id, status, error FROM batches ORDER BY rowid"
        ).fetchall()
        status_of = {key: status for key, _, _, status, _ in raw_jobs}
        circuits: list[LedgerCircuit] = []
        members: Counter[str] = Counter()
        with_result: Counter[str] = Counter()
        for key, idx, batch, pos, has_result, losses in conn.execute(
            "SELECT key, idx, batch, pos, result IS NOT NULL, losses FROM circuits "
            "ORDER BY idx, key"
        ):
            done = bool(has_result)
            if batch is not None:
                members[batch] += 1
                with_result[batch] += done
            state = "completed" if done else status_of.get(batch, "unplaced")
            target = of_job.get(batch, _UNRECORDED) if batch is not None else _UNRECORDED
            circuits.append(
                LedgerCircuit(key, int(idx), batch, pos, done, int(losses), state, target)
            )
        jobs = [
            LedgerJob(
                key=key,
                job_id=job_id,
                status=status,
                size=int(size),
                error=error,
                target=of_job.get(key, _UNRECORDED),
                circuits=members[key],
                results=with_result[key],
            )
            for key, size, job_id, status, error in raw_jobs
        ]
        if any(j.target == _UNRECORDED for j in jobs) and _UNRECORDED not in targets:
            targets.append(_UNRECORDED)
        return LedgerView(shown, _VERSION, targets, jobs, circuits)


def iter_results(
    path: str | os.PathLike[str], target: Target | None = None
) -> Iterator[tuple[LedgerCircuit, Result]]:
    """The stored results (of ``target`` only, when given), ordered by index, decoded.

    A result that does not decode raises :class:`~qjobs.LedgerError` naming its circuit.
    """
    view = read_ledger(path)
    wanted = {c.key: c for c in view.circuits if c.has_result and target in (None, c.target)}
    with _reading(path) as (shown, conn):
        blobs = {
            key: blob
            for key, blob in conn.execute(
                "SELECT key, result FROM circuits WHERE result IS NOT NULL"
            )
            if key in wanted
        }
    for key, circuit in wanted.items():
        blob = blobs.get(key)
        if blob is None:
            continue  # written between the two reads' snapshots: not there yet
        try:
            yield circuit, _decode(blob)
        except ValueError as exc:
            raise _error(
                shown, f"holds a result that does not decode (circuit {circuit.index}: {exc})"
            ) from None


def _decode(blob: bytes) -> Result:
    """A stored result, checked for sense; ValueError saying what is wrong."""
    try:
        res = unpack_result(bytes(blob))
    except (struct.error, KeyError, TypeError, ValueError, QJobsError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
    if len(res.probabilities) != 1 << res.num_clbits:
        raise ValueError(
            f"{len(res.probabilities)} probabilities for {res.num_clbits} classical bits"
        )
    if sum(res.counts.values()) != res.shots:
        raise ValueError(f"counts sum to {sum(res.counts.values())}, not {res.shots} shots")
    return res


def verify_ledger(path: str | os.PathLike[str]) -> tuple[LedgerView, list[str]]:
    """The ledger's contents and its problems (empty when it is sound), one line each.

    Checked: every circuit of a completed job has its result; every stored result decodes and
    makes sense (one probability per outcome, counts summing to the shots); every circuit names
    a job the ledger holds; no provider job id is recorded for two jobs (e.g. two targets).
    """
    view = read_ledger(path)
    problems: list[str] = []
    jobs = {j.key: j for j in view.jobs}
    for c in view.circuits:
        job = jobs.get(c.job_key) if c.job_key is not None else None
        if job is None:
            problems.append(f"circuit {c.index} ({c.key}) names no job the ledger holds")
        elif job.status == "completed" and not c.has_result:
            problems.append(
                f"circuit {c.index} ({c.key}) has no result although its job {job.job_id} completed"
            )
    with _reading(path) as (_, conn):
        for key, idx, blob in conn.execute(
            "SELECT key, idx, result FROM circuits WHERE result IS NOT NULL ORDER BY idx, key"
        ):
            try:
                _decode(blob)
            except ValueError as exc:
                problems.append(f"circuit {idx} ({key}) has a result that does not decode: {exc}")
    by_id: dict[str, list[LedgerJob]] = {}
    for j in view.jobs:
        if j.job_id is not None:
            by_id.setdefault(j.job_id, []).append(j)
    for job_id, holders in by_id.items():
        if len(holders) > 1:
            where = sorted({h.target.label for h in holders})
            problems.append(
                f"job id {job_id} is recorded for {len(holders)} jobs "
                f"({', '.join(h.key for h in holders)}) on {' and '.join(where)}"
            )
    return view, problems
