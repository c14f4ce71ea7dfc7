"""The crash-safe SQLite ledger behind ``Scheduler(ledger="path.db")``.

Two tables. ``batches`` has one row per provider job the scheduler intended to create: its key
(the idempotency key given to ``client.submit``), how many circuits it holds, the provider job id
once known and its last status. ``circuits`` has one row per submitted circuit: its key, the
caller's index, the generation of jobs it has been placed in, the job it currently belongs to with
its position there, its result once fetched, and how many of its jobs the provider lost. Keys
name the provider and endpoint (see :mod:`qjobs.scheduler._keys`), so campaigns run on different
providers or servers live side by side in one file.

Versions: ``meta.version`` is the key scheme and layout. Version 1 keys did not name the provider or
endpoint, so they cannot be matched to a target; such a file is refused with
:class:`~qjobs.LedgerError` (there is nothing to migrate to), as is a file of a newer version.

Durability: the database runs in WAL mode with ``synchronous=FULL``. An intent row must be durable
before the POST that creates the job (that is what makes a rerun after a crash safe); WAL alone
already survives the death of the process (SIGKILL), FULL adds an fsync per commit so an intent
also survives a power loss. Commits are grouped: every writer appends to the in-memory buffer of
the backend-neutral :class:`~qjobs.scheduler._ledger_backend.Ledger` and its ``flush`` commits
everything buffered so far in one transaction (:meth:`SqliteStore.commit`, on a worker thread), so
the event loop never blocks on SQLite and concurrent submitters share one fsync.
"""

from __future__ import annotations

import os
import sqlite3

import anyio.to_thread

from qjobs.scheduler._ledger_backend import Ledger as BufferedLedger
from qjobs.scheduler._ledger_backend import Loaded, Op, OpKind
from qjobs.scheduler._ledger_checks import check_contents, check_path, ledger_error
from qjobs.scheduler._ledger_lock import LedgerLock
from qjobs.scheduler._ledger_records import (
    LedgerBatch,
    LedgerRow,
    pack_result,
    unpack_result,
)
from qjobs.scheduler._ledger_targets import INTENT_TARGET, record_target

__all__ = ["Ledger", "LedgerBatch", "LedgerRow", "SqliteStore", "pack_result", "unpack_result"]

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

_SQL = {
    OpKind.INTENT_BATCH: (
        "INSERT INTO batches (key, size, job_id, status) VALUES (?, ?, NULL, 'intent') "
        "ON CONFLICT (key) DO UPDATE SET size = excluded.size"
    ),
    OpKind.INTENT_CIRCUIT: (
        "INSERT INTO circuits (key, idx, gen, batch, pos) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET gen = excluded.gen, batch = excluded.batch, "
        "pos = excluded.pos"
    ),
    OpKind.JOB: "UPDATE batches SET job_id = ?, status = ? WHERE key = ?",
    OpKind.STATUS: "UPDATE batches SET status = ?, error = ? WHERE key = ?",
    OpKind.RESULT: "UPDATE circuits SET result = ? WHERE key = ?",
    OpKind.LOSS: "UPDATE circuits SET losses = losses + 1 WHERE key = ?",
}


class SqliteStore:
    """The SQLite backend of a ledger: one file, locked from :meth:`load` to :meth:`release`
    (:class:`~qjobs.scheduler._ledger_lock.LedgerLock`), so one ledger file serves one scheduler
    at a time. Every SQLite call runs on a worker thread."""

    def __init__(self, path: str, target: tuple[str, str] | None = None) -> None:
        self.name = path
        #: ``(provider, endpoint)`` recorded for every job intent (see ``_ledger_targets``).
        self.target = target
        self._target_id: int | None = None
        self._file_lock = LedgerLock(path)
        self._conn: sqlite3.Connection | None = None

    async def load(self) -> Loaded:
        """Lock, open (creating if needed) and load every recorded circuit and job.

        Raises :class:`~qjobs.InputError` on ``ledger`` when another scheduler holds the file and
        :class:`~qjobs.LedgerError` when the path cannot hold a ledger (a directory, a missing
        folder) or the file is not a qjobs ledger (garbage, another program's SQLite file).
        """
        return await anyio.to_thread.run_sync(self._open_sync)

    def _open_sync(self) -> Loaded:
        path = self.name
        check_path(path)
        try:
            self._file_lock.acquire()
        except OSError as exc:
            raise ledger_error(path, f"cannot be locked ({exc.strerror})") from None
        try:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except BaseException as exc:
            self._file_lock.release()
            if isinstance(exc, sqlite3.Error):
                raise ledger_error(path, f"cannot be opened ({exc})") from None
            raise
        try:
            check_contents(conn, path, _VERSION)
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
                raise ledger_error(path, f"cannot be read ({exc})") from None
            raise
        self._conn = conn
        return rows, batches

    async def commit(self, ops: list[Op]) -> None:
        """Apply ``ops`` in one transaction on a worker thread."""
        if self._conn is not None:
            await anyio.to_thread.run_sync(self._commit_sync, self._conn, ops)

    def _commit_sync(self, conn: sqlite3.Connection, ops: list[Op]) -> None:
        conn.execute("BEGIN")
        try:
            for kind, params, many in ops:
                if many:
                    conn.executemany(_SQL[kind], params)
                else:
                    conn.execute(_SQL[kind], params)
                if kind is OpKind.INTENT_BATCH and self._target_id is not None:
                    conn.execute(INTENT_TARGET, (params[0], self._target_id))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def release(self) -> None:
        """Close the file and release its lock; idempotent."""
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                await anyio.to_thread.run_sync(conn.close)
        finally:
            self._file_lock.release()


class Ledger(BufferedLedger):
    """The SQLite ledger at ``path``: a :class:`~qjobs.scheduler._ledger_backend.Ledger` over a
    :class:`SqliteStore`.

    Statuses stored for a batch: "intent" (no job id yet), a JobStatus value, "absent" (looked
    up after a crash and not found at the provider), "rejected" (the provider refused the POST),
    "lost" (the provider answered 404 for the job it had created: never polled again).
    """

    def __init__(self, path: str | os.PathLike[str], target: tuple[str, str] | None = None) -> None:
        super().__init__(SqliteStore(os.fspath(path), target))
