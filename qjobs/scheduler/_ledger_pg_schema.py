"""The PostgreSQL ledger's schema, created and upgraded by qjobs through numbered migrations.

Every table's name starts with ``qjobs_``, so a ledger can share a database with other programs.
``qjobs_schema_migrations`` has one row per migration applied (``version``, ``name``,
``applied_at``); :func:`migrate` applies the missing ones in order, in one transaction under a
transaction-level advisory lock, so processes opening a new database together create it once.
A database whose schema is newer than this qjobs knows is refused with
:class:`~qjobs.LedgerError` before anything is written.

Version 1:

- ``qjobs_batches``: one row per provider job the scheduler intended to create (its key, the
  number of circuits, the job id once known, the last status and error), as SQLite's ``batches``;
- ``qjobs_circuits``: one row per submitted circuit (key, index, generation, job key and
  position, packed result, losses), as SQLite's ``circuits``;
- ``qjobs_campaigns``: one row per sweep run by many workers (its id, a JSON description of the
  grid, shots and target, the number of points and shards);
- ``qjobs_shards``: the campaign's circuits cut into shards (``lo``/``hi`` point indices and the
  circuit keys), each ``open`` or ``done``, leased by one worker at a time (``owner``,
  ``expires_at``; ``claims`` counts the leases taken).

Version 2:

- ``qjobs_budgets``: one token bucket per shared request budget (``name``, ``rate``, ``burst``,
  ``tokens`` left at ``updated``), see :mod:`qjobs.scheduler._ledger_pg_budget`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qjobs.scheduler._ledger_checks import ledger_error

if TYPE_CHECKING:
    import psycopg

__all__ = ["LATEST", "MIGRATIONS", "migrate"]

_V1 = """
CREATE TABLE qjobs_batches (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    job_id TEXT,
    status TEXT NOT NULL,
    error TEXT
);
CREATE TABLE qjobs_circuits (
    key TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    gen INTEGER NOT NULL,
    batch TEXT,
    pos INTEGER,
    result BYTEA,
    losses INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX qjobs_circuits_batch ON qjobs_circuits (batch);
CREATE TABLE qjobs_campaigns (
    id TEXT PRIMARY KEY,
    spec JSONB NOT NULL,
    points INTEGER NOT NULL,
    shards INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE qjobs_shards (
    campaign TEXT NOT NULL REFERENCES qjobs_campaigns (id),
    shard INTEGER NOT NULL,
    lo INTEGER NOT NULL,
    hi INTEGER NOT NULL,
    keys TEXT[] NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
    owner TEXT,
    expires_at TIMESTAMPTZ,
    claims INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, shard)
);
"""

_V2 = """
CREATE TABLE qjobs_budgets (
    name TEXT PRIMARY KEY,
    rate DOUBLE PRECISION NOT NULL CHECK (rate > 0),
    burst DOUBLE PRECISION NOT NULL CHECK (burst >= 1),
    tokens DOUBLE PRECISION NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
"""

#: (version, name, SQL) in order; a released migration is never edited, only followed.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "ledger, campaigns and shards", _V1),
    (2, "shared request budgets", _V2),
)
#: The schema version this qjobs writes.
LATEST = MIGRATIONS[-1][0]

_LOCK_ID = 0x716A6F6273  # "qjobs": serialises migrations across processes

_TABLE = """
CREATE TABLE IF NOT EXISTS qjobs_schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


async def migrate(conn: psycopg.AsyncConnection[tuple[object, ...]], name: str) -> int:
    """Bring the database of ``conn`` to :data:`LATEST`; returns the version it had before.

    ``name`` is the ledger's redacted URL, for the error raised on a newer schema.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        await conn.execute(_TABLE)
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM qjobs_schema_migrations")
        row = await cur.fetchone()
        have = int(row[0]) if row is not None else 0  # type: ignore[call-overload]
        if have > LATEST:
            raise ledger_error(
                name,
                f"holds a qjobs ledger of schema version {have}; this qjobs reads up to {LATEST}",
                "finish that campaign with the qjobs that wrote it, or use another database",
            )
        for version, label, sql in MIGRATIONS:
            if version > have:
                await conn.execute(sql.encode())
                await conn.execute(
                    "INSERT INTO qjobs_schema_migrations (version, name) VALUES (%s, %s)",
                    (version, label),
                )
    return have
