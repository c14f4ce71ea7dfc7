"""The ledger interface the scheduler uses, whatever stores it, and the choice of a backend.

A scheduler talks to one :class:`Ledger`: buffered record methods (``intent``, ``job``,
``status``, ``result``, ``lost``), ``flush`` (group commit: returns once everything recorded
before the call is durable) and ``open``/``close``. A :class:`Ledger` is composed around one
:class:`LedgerStore`, the backend: it loads what was recorded and commits groups of
:class:`Op` records in one transaction each.

Backends (:func:`open_ledger` picks one from the ``ledger=`` argument):

- SQLite, the embedded default: a path (``"run.db"``), :mod:`qjobs.scheduler._ledger`;
- PostgreSQL: a ``postgresql://`` (or ``postgres://``) URL, :mod:`qjobs.scheduler._ledger_pg`,
  through psycopg 3 (``pip install 'qjobs[postgres]'``), shared by many processes and hosts.

Neither backend module (nor ``sqlite3``/``psycopg``) is imported until a ledger is asked for.
A URL's password never appears in a repr, a log line or an error: :func:`redact_url`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import anyio

from qjobs.scheduler._ledger_records import LOST, LedgerBatch, LedgerRow

__all__ = [
    "Ledger",
    "LedgerStore",
    "Loaded",
    "Op",
    "OpKind",
    "is_postgres_url",
    "open_ledger",
    "redact_url",
]

#: What a ledger holds when it opens: circuit rows and job rows, by key.
Loaded = tuple[dict[str, LedgerRow], dict[str, LedgerBatch]]


class OpKind(enum.Enum):
    """The kinds of buffered record; each backend maps every kind to one statement."""

    INTENT_BATCH = "intent_batch"
    INTENT_CIRCUIT = "intent_circuit"
    JOB = "job"
    STATUS = "status"
    RESULT = "result"
    LOSS = "loss"


#: One buffered record: its kind, its parameters and whether they are a list of parameter rows.
Op = tuple[OpKind, Sequence[Any], bool]


class LedgerStore(Protocol):
    """A ledger backend: where records are kept. Called by :class:`Ledger` only, one call at a
    time (the ledger's lock serialises them)."""

    #: The ledger's name for messages (a path, or a URL without its password).
    name: str

    async def load(self) -> Loaded:
        """Take ownership, create or upgrade the schema and return what is recorded."""
        ...

    async def commit(self, ops: list[Op]) -> None:
        """Apply ``ops`` in order in one transaction (all or nothing)."""
        ...

    async def release(self) -> None:
        """Close the connection and give ownership up; idempotent."""
        ...


class Ledger:
    """A buffered writer over one :class:`LedgerStore`.

    Writers call the record methods (non-blocking, buffered) and ``await flush()`` when the
    records must be durable before going on (intents before a POST). A background task of the
    scheduler also flushes periodically, so status changes and results are committed in groups.
    """

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self._buf: list[Op] = []
        self._seq = 0
        self._done = 0
        self._lock = anyio.Lock()
        self._open = False
        #: Transactions committed (for tests and statistics).
        self.commits = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.store.name}>"

    @property
    def path(self) -> str:
        """The ledger's name: its file path, or its URL without the password."""
        return self.store.name

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> Loaded:
        """Take ownership, open (creating if needed) and load every recorded circuit and job.

        Raises :class:`~qjobs.InputError` on ``ledger`` when another scheduler owns the ledger
        and :class:`~qjobs.LedgerError` when it cannot hold a ledger or is not a qjobs ledger.
        """
        async with self._lock:
            loaded = await self.store.load()
            self._open = True
            return loaded

    async def close(self) -> None:
        """Commit what is buffered and give the ledger up."""
        try:
            await self.flush()
        finally:
            async with self._lock:
                self._open = False
                await self.store.release()

    # ------------------------------------------------------------------ records (buffered)
    def intent(self, key: str, members: Sequence[tuple[str, int, int]]) -> None:
        """Record the intent to create job ``key`` holding ``members`` (key, index, gen)."""
        self._add(OpKind.INTENT_BATCH, (key, len(members)), False)
        self._add(
            OpKind.INTENT_CIRCUIT,
            [(ck, idx, gen, key, pos) for pos, (ck, idx, gen) in enumerate(members)],
            True,
        )

    def job(self, key: str, job_id: str, status: str) -> None:
        """Record the provider job id of job ``key``."""
        self._add(OpKind.JOB, (job_id, status, key), False)

    def status(self, key: str, status: str, error: str | None = None) -> None:
        """Record a status change of job ``key``."""
        self._add(OpKind.STATUS, (status, error, key), False)

    def result(self, circuit_key: str, blob: bytes) -> None:
        """Record the packed result of one circuit."""
        self._add(OpKind.RESULT, (blob, circuit_key), False)

    def lost(self, key: str, circuit_keys: Sequence[str], reason: str) -> None:
        """Record job ``key`` as lost and count one loss for each of its circuits.

        Both go into the same group commit, so a loss is never counted without the status.
        """
        self._add(OpKind.STATUS, (LOST, reason, key), False)
        self._add(OpKind.LOSS, [(k,) for k in circuit_keys], True)

    def _add(self, kind: OpKind, params: Sequence[Any], many: bool) -> None:
        self._buf.append((kind, params, many))
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
            if self._done >= target or not self._open:
                return
            ops, self._buf = self._buf, []
            upto = self._seq
            # Shielded, as a commit on a worker thread is: a commit cancelled halfway would
            # leave its outcome unknown (psycopg closes a connection whose query is cancelled).
            with anyio.CancelScope(shield=True):
                await self.store.commit(ops)
            self.commits += 1
            self._done = upto


def is_postgres_url(ledger: object) -> bool:
    """True when ``ledger`` is a ``postgresql://`` or ``postgres://`` URL (a str)."""
    return isinstance(ledger, str) and ledger.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``; the query is kept as it is.

    Never raises: a URL that cannot be parsed is shown as its scheme only.
    """
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        netloc = f"{user}:***@{host}{port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return url.partition(":")[0] + "://***"


def open_ledger(
    ledger: str | os.PathLike[str] | Ledger | None, target: tuple[str, str] | None = None
) -> Ledger | None:
    """The ledger a scheduler was given: None, a ready :class:`Ledger`, a PostgreSQL URL or a
    SQLite path. The backend module is imported here, on first use. A SQLite ledger records
    ``target`` (provider, endpoint) beside each job, for ``qjobs ledger show``."""
    if ledger is None or isinstance(ledger, Ledger):
        return ledger
    if is_postgres_url(ledger):
        from qjobs.scheduler._ledger_pg import PostgresStore

        assert isinstance(ledger, str)
        return Ledger(PostgresStore(ledger))
    from qjobs.scheduler._ledger import Ledger as SqliteLedger

    return SqliteLedger(ledger, target)
