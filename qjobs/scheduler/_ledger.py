"""The crash-safe SQLite ledger behind ``Scheduler(ledger="path.db")``.

Two tables. ``batches`` has one row per provider job the scheduler intended to create: its key
(the idempotency key given to ``client.submit``), how many circuits it holds, the provider job id
once known and its last status. ``circuits`` has one row per submitted circuit: its key, the
caller's index, the generation of jobs it has been placed in, the job it currently belongs to with
its position there, its result once fetched, and how many of its jobs the provider lost. Keys
name the provider and endpoint (see :mod:`qjobs.scheduler._keys`), so campaigns run on different
providers or servers live side by side in one file. Since keys are hashes, each target is also
kept readable, with the job keys that ran there (:mod:`qjobs.scheduler._ledger_targets`), for
the read-only inspection of :mod:`qjobs.scheduler._ledger_inspect`.

Versions: ``meta.version`` is the key scheme and layout. Version 1 keys did not name the provider or
endpoint, so they cannot be matched to a target; such a file is refused with
:class:`~qjobs.LedgerError` (there is nothing to migrate to), as is a file of a newer version.

Durability: the database runs in WAL mode with ``synchronous=FULL``. An intent row must be durable
before the POST that creates the job (that is what makes a rerun after a crash safe); WAL alone
already survives the death of the process (SIGKILL), FULL adds an fsync per commit so an intent
also survives a power loss. Commits are grouped: every writer appends to an in-memory buffer and
:meth:`Ledger.flush` commits everything buffered so far in one transaction on a worker thread, so
the event loop never blocks on SQLite and concurrent submitters share one fsync.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread

from qjobs.scheduler._ledger_checks import check_contents, check_path, ledger_error
from qjobs.scheduler._ledger_lock import LedgerLock
from qjobs.scheduler._ledger_records import (
    LOST,
    LedgerBatch,
    LedgerRow,
    pack_result,
    unpack_result,
)
from qjobs.scheduler._ledger_targets import INTENT_TARGET, record_target

__all__ = ["Ledger", "LedgerBatch", "LedgerRow", "pack_result", "unpack_result"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    job_id TEXT,
    status TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS circuits (
    key TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    gen INTEGER NOT NULL,
    batch TEXT,
    pos INTEGER,
    result BLOB,
    losses INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS circuits_batch ON circuits (batch);
"""
_VERSION = "2"

_INTENT_BATCH = (
    "INSERT INTO batches (key, size, job_id, status) VALUES (?, ?, NULL, 'intent') "
    "ON CONFLICT (key) DO UPDATE SET size = excluded.size"
)
_INTENT_CIRCUIT = (
    "INSERT INTO circuits (key, idx, gen, batch, pos) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET gen = excluded.gen, batch = excluded.batch, pos = excluded.pos"
)
_JOB = "UPDATE batches SET job_id = ?, status = ? WHERE key = ?"
_STATUS = "UPDATE batches SET status = ?, error = ? WHERE key = ?"
_RESULT = "UPDATE circuits SET result = ? WHERE key = ?"
_LOSS = "UPDATE circuits SET losses = losses + 1 WHERE key = ?"


#: Statuses stored for a batch: "intent" (no job id yet), a JobStatus value, "absent" (looked
#: up after a crash and not found at the provider), "rejected" (the provider refused the POST),
#: "lost" (the provider answered 404 for the job it had created: never polled again).
class Ledger:
    """A buffered writer over one SQLite file; all SQLite calls run on worker threads.

    The file is locked (:class:`~qjobs.scheduler._ledger_lock.LedgerLock`) from :meth:`open` to
    :meth:`close`, so one ledger serves one scheduler at a time.

    Writers call the record methods (non-blocking, buffered) and ``await flush()`` when the
    records must be durable before going on (intents before a POST). A background task of the
    scheduler also flushes periodically, so status changes and results are committed in groups.
    """

    def __init__(self, path: str | os.PathLike[str], target: tuple[str, str] | None = None) -> None:
        self.path = os.fspath(path)
        #: ``(provider, endpoint)`` recorded for every job intent (see ``_ledger_targets``).
        self.target = target
        self._target_id: int | None = None
        self._file_lock = LedgerLock(self.path)
        self._conn: sqlite3.Connection | None = None
        self._buf: list[tuple[str, Sequence[Any], bool]] = []
        self._seq = 0
        self._done = 0
        self._lock = anyio.Lock()
        #: Transactions committed (for tests and statistics).
        self.commits = 0

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> tuple[dict[str, LedgerRow], dict[str, LedgerBatch]]:
        """Lock, open (creating if needed) and load every recorded circuit and job.

        Raises :class:`~qjobs.InputError` on ``ledger`` when another scheduler holds the file and
        :class:`~qjobs.LedgerError` when the path cannot hold a ledger (a directory, a missing
        folder) or the file is not a qjobs ledger (garbage, another program's SQLite file).
        """
        async with self._lock:
            return await anyio.to_thread.run_sync(self._open_sync)

    def _open_sync(self) -> tuple[dict[str, LedgerRow], dict[str, LedgerBatch]]:
        check_path(self.path)
        try:
            self._file_lock.acquire()
        except OSError as exc:
            raise ledger_error(self.path, f"cannot be locked ({exc.strerror})") from None
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except BaseException as exc:
            self._file_lock.release()
            if isinstance(exc, sqlite3.Error):
                raise ledger_error(self.path, f"cannot be opened ({exc})") from None
            raise
        try:
            check_contents(conn, self.path, _VERSION)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('version', ?)", (_VERSION,)
            )
            if self.target is not None:
                self._target_id = record_target(conn, *self.target)
            rows: dict[str, LedgerRow] = {}
            batches: dict[str, LedgerBatch] = {}
            for key, size, job_id, status in conn.execute(
                "SELECT key, size, job_id, status FROM batches"
            ):
                batches[key] = LedgerBatch(key, size, job_id, status)
            for key, gen, batch, pos, result, lost in conn.execute(
                "SELECT key, gen, batch, pos, result, losses FROM circuits"
            ):
                rows[key] = LedgerRow(gen, batch, pos, result, lost)
                lb = batches.get(batch) if batch is not None else None
                if lb is not None and pos is not None and 0 <= pos < lb.size:
                    lb.members[pos] = key
        except BaseException as exc:
            conn.close()
            self._file_lock.release()
            if isinstance(exc, sqlite3.DatabaseError):  # e.g. "database disk image is malformed"
                raise ledger_error(self.path, f"cannot be read ({exc})") from None
            raise
        self._conn = conn
        return rows, batches

    async def close(self) -> None:
        """Commit what is buffered and close the file."""
        await self.flush()
        async with self._lock:
            conn, self._conn = self._conn, None
            try:
                if conn is not None:
                    await anyio.to_thread.run_sync(conn.close)
            finally:
                self._file_lock.release()

    # ------------------------------------------------------------------ records (buffered)
    def intent(self, key: str, members: Sequence[tuple[str, int, int]]) -> None:
        """Record the intent to create job ``key`` holding ``members`` (key, index, gen)."""
        self._add(_INTENT_BATCH, (key, len(members)), False)
        if self._target_id is not None:
            self._add(INTENT_TARGET, (key, self._target_id), False)
        self._add(
            _INTENT_CIRCUIT,
            [(ck, idx, gen, key, pos) for pos, (ck, idx, gen) in enumerate(members)],
            True,
        )

    def job(self, key: str, job_id: str, status: str) -> None:
        """Record the provider job id of job ``key``."""
        self._add(_JOB, (job_id, status, key), False)

    def status(self, key: str, status: str, error: str | None = None) -> None:
        """Record a status change of job ``key``."""
        self._add(_STATUS, (status, error, key), False)

    def result(self, circuit_key: str, blob: bytes) -> None:
        """Record the packed result of one circuit."""
        self._add(_RESULT, (blob, circuit_key), False)

    def lost(self, key: str, circuit_keys: Sequence[str], reason: str) -> None:
        """Record job ``key`` as lost and count one loss for each of its circuits.

        Both go into the same group commit, so a loss is never counted without the status.
        """
        self._add(_STATUS, (LOST, reason, key), False)
        self._add(_LOSS, [(k,) for k in circuit_keys], True)

    def _add(self, sql: str, params: Sequence[Any], many: bool) -> None:
        self._buf.append((sql, params, many))
        self._seq += 1

    @property
    def dirty(self) -> bool:
        """True when records wait to be committed."""
        return self._done < self._seq

    # ------------------------------------------------------------------ commits
    async def flush(self) -> None:
        """Return once everything recorded before the call is committed (group commit)."""
        target = self._seq
        if self._done >= target:
            return
        async with self._lock:
            if self._done >= target or self._conn is None:
                return
            ops, self._buf = self._buf, []
            await anyio.to_thread.run_sync(self._commit_sync, self._conn, ops, self._seq)

    def _commit_sync(
        self, conn: sqlite3.Connection, ops: list[tuple[str, Sequence[Any], bool]], upto: int
    ) -> None:
        conn.execute("BEGIN")
        try:
            for sql, params, many in ops:
                if many:
                    conn.executemany(sql, params)
                else:
                    conn.execute(sql, params)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self.commits += 1
        self._done = upto
