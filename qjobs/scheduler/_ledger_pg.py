"""The PostgreSQL ledger behind ``Scheduler(ledger="postgresql://...")``, through psycopg 3.

Same records and semantics as the SQLite ledger (:mod:`qjobs.scheduler._ledger`): the intent of a
job is committed before the POST that creates it, statuses and results are committed in groups
(one transaction per :meth:`~qjobs.scheduler._ledger_backend.Ledger.flush`), and a rerun resumes
from what is recorded, exactly once. The schema is created and upgraded by qjobs
(:mod:`qjobs.scheduler._ledger_pg_schema`, table ``qjobs_schema_migrations``).

Ownership. A scheduler given the URL alone owns the whole ledger, as with SQLite's file lock: it
holds an exclusive session-level advisory lock for as long as it is open (PostgreSQL drops it
when the session ends, even if the process is killed), and a second one is refused with
:class:`~qjobs.InputError`. A campaign worker (:mod:`qjobs.sweep._workers`) opens the ledger for
one shard instead: it holds the advisory lock shared (so workers run side by side while a lone
scheduler cannot), loads only its shard's circuits, and every commit first checks, in the same
transaction, that its shard lease is still its own (:class:`Fence`): a worker that lost its lease
can record nothing, in particular no intent, so it never posts a job.

psycopg is imported on first use; without it a :class:`~qjobs.LedgerError` says what to install.
The URL's password never appears in a message (:func:`~qjobs.scheduler._ledger_backend.redact_url`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from qjobs._core.errors import InputError, LedgerError
from qjobs.scheduler._ledger_backend import Loaded, Op, OpKind, redact_url
from qjobs.scheduler._ledger_checks import ledger_error
from qjobs.scheduler._ledger_pg_schema import migrate
from qjobs.scheduler._ledger_records import LedgerBatch, LedgerRow

if TYPE_CHECKING:
    import psycopg

__all__ = ["Fence", "PostgresStore", "connect", "scrub"]

_OWNER_LOCK = 0x716A6F6273 + 1  # the advisory lock naming the owner(s) of a ledger database

_SQL = {
    OpKind.INTENT_BATCH: (
        "INSERT INTO qjobs_batches (key, size, job_id, status) VALUES (%s, %s, NULL, 'intent') "
        "ON CONFLICT (key) DO UPDATE SET size = excluded.size"
    ),
    OpKind.INTENT_CIRCUIT: (
        "INSERT INTO qjobs_circuits (key, idx, gen, batch, pos) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET gen = excluded.gen, batch = excluded.batch, "
        "pos = excluded.pos"
    ),
    OpKind.JOB: "UPDATE qjobs_batches SET job_id = %s, status = %s WHERE key = %s",
    OpKind.STATUS: "UPDATE qjobs_batches SET status = %s, error = %s WHERE key = %s",
    OpKind.RESULT: "UPDATE qjobs_circuits SET result = %s WHERE key = %s",
    OpKind.LOSS: "UPDATE qjobs_circuits SET losses = losses + 1 WHERE key = %s",
}


class Fence(Protocol):
    """What a shard worker's ledger checks before each commit (see :mod:`._ledger_pg_shards`)."""

    async def check(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """Raise :class:`~qjobs.LedgerError` unless the lease is still held (inside the
        commit's transaction, locking the shard row until the commit ends)."""
        ...


def scrub(text: str, url: str) -> str:
    """``text`` with the URL and its password replaced by their redacted forms."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    text = text.replace(url, redact_url(url))
    if password:
        text = text.replace(password, "***")
    return text


async def connect(url: str) -> psycopg.AsyncConnection[tuple[Any, ...]]:
    """An autocommit connection to ``url``; :class:`~qjobs.LedgerError` (password redacted) when
    psycopg is missing or the server cannot be reached."""
    name = redact_url(url)
    try:
        import psycopg
    except ImportError:
        raise ledger_error(
            name,
            "needs psycopg 3, which is not installed",
            "install it with pip install 'qjobs[postgres]'",
        ) from None
    try:
        return await psycopg.AsyncConnection.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise ledger_error(
            name, f"cannot be reached ({scrub(str(exc).strip(), url)})", "check the URL"
        ) from None
    except ValueError as exc:  # psycopg's conninfo parser on a malformed URL
        raise ledger_error(
            name, f"is not a usable URL ({scrub(str(exc), url)})", "check it"
        ) from None


class PostgresStore:
    """The PostgreSQL backend of a ledger (see the module docstring).

    ``fence`` and ``keys`` make it a shard worker's store: the owner lock is taken shared, only
    the circuits of ``keys`` (and their jobs) are loaded, and ``fence.check`` runs before every
    commit.
    """

    def __init__(
        self, url: str, *, fence: Fence | None = None, keys: Sequence[str] | None = None
    ) -> None:
        self._url = url
        self.name = redact_url(url)
        self._fence = fence
        self._keys = None if keys is None else list(keys)
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

    def __repr__(self) -> str:
        return f"<PostgresStore {self.name}>"

    async def load(self) -> Loaded:
        """Connect, take ownership, migrate the schema and load what is recorded."""
        import psycopg

        conn = await connect(self._url)
        try:
            await migrate(conn, self.name)
            await self._own(conn)
            loaded = await self._load(conn)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, psycopg.Error):
                raise ledger_error(
                    self.name, f"cannot be read ({scrub(str(exc), self._url)})"
                ) from None
            raise
        self._conn = conn
        return loaded

    async def _own(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        shared = self._fence is not None
        fn = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        cur = await conn.execute(f"SELECT {fn}(%s)", (_OWNER_LOCK,))
        row = await cur.fetchone()
        if row is not None and row[0]:
            return
        raise InputError(
            "ledger",
            self.name,
            "is in use by another scheduler or by campaign workers"
            if not shared
            else "is in use by a scheduler that owns it alone",
        )

    async def _load(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> Loaded:
        rows: dict[str, LedgerRow] = {}
        batches: dict[str, LedgerBatch] = {}
        if self._keys is None:
            bcur = await conn.execute("SELECT key, size, job_id, status FROM qjobs_batches")
            ccur = await conn.execute(
                "SELECT key, gen, batch, pos, result, losses FROM qjobs_circuits"
            )
        else:
            bcur = await conn.execute(
                "SELECT b.key, b.size, b.job_id, b.status FROM qjobs_batches b WHERE b.key IN "
                "(SELECT batch FROM qjobs_circuits WHERE key = ANY(%s))",
                (self._keys,),
            )
            ccur = await conn.execute(
                "SELECT key, gen, batch, pos, result, losses FROM qjobs_circuits "
                "WHERE batch IN (SELECT batch FROM qjobs_circuits WHERE key = ANY(%s))",
                (self._keys,),
            )
        for key, size, job_id, status in await bcur.fetchall():
            batches[key] = LedgerBatch(key, size, job_id, status)
        for key, gen, batch, pos, result, lost in await ccur.fetchall():
            rows[key] = LedgerRow(gen, batch, pos, None if result is None else bytes(result), lost)
            lb = batches.get(batch) if batch is not None else None
            if lb is not None and pos is not None and 0 <= pos < lb.size:
                lb.members[pos] = key
        return rows, batches

    async def commit(self, ops: list[Op]) -> None:
        """Apply ``ops`` in one transaction, after the fence's check (if any)."""
        conn = self._conn
        if conn is None:
            return
        import psycopg

        try:
            async with conn.transaction():
                if self._fence is not None:
                    await self._fence.check(conn)
                async with conn.cursor() as cur:
                    for kind, params, many in ops:
                        if many:
                            await cur.executemany(_SQL[kind], params)
                        else:
                            await cur.execute(_SQL[kind], params)
        except psycopg.Error as exc:
            raise LedgerError(
                f"ledger {self.name!r} could not commit ({scrub(str(exc), self._url)})"
            ) from None

    async def release(self) -> None:
        """Close the connection (which drops the owner lock); idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
