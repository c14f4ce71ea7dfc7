"""Campaigns and shard leases in the PostgreSQL ledger: many workers sharing one sweep.

A campaign (``qjobs_campaigns``) is a sweep's circuits in order, cut into shards
(``qjobs_shards``: point indices ``lo`` to ``hi`` and the circuits' keys). Every worker running
the same sweep computes the same keys, hence the same campaign id, and :func:`create_campaign`
inserts it once (``ON CONFLICT DO NOTHING``).

A worker takes a shard with :func:`claim`: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks an open
shard nobody holds, or one whose lease has expired (its worker died or stalled), and the same
statement writes the worker's name as ``owner`` with ``expires_at = now() + lease``; concurrent
claimers skip each other's rows instead of waiting. The worker renews its lease (:func:`renew`)
from a heartbeat task well before it expires and marks the shard ``done`` with :func:`finish`.
Times are the database server's (``now()``), so the workers' clocks need not agree.

:class:`ShardLease` is also the ledger's fence (:class:`~qjobs.scheduler._ledger_pg.Fence`):
every commit of the shard's ledger first locks the shard row and checks that the lease is still
the worker's with at least ``margin`` seconds left; otherwise nothing is written and
:class:`~qjobs.LedgerError` is raised, so a worker that lost its shard records no intent and posts
no job for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from qjobs._core.errors import LedgerError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "CampaignCounts",
    "LeaseLostError",
    "ShardLease",
    "campaign_counts",
    "campaign_results",
    "claim",
    "create_campaign",
    "finish",
    "only_campaign",
    "renew",
]


class LeaseLostError(LedgerError):
    """A worker's shard lease expired or was taken over: it must stop working on the shard."""


@attrs.frozen(slots=True)
class ShardLease:
    """Shard ``shard`` of ``campaign`` (points ``lo`` to ``hi``, circuit ``keys``), held by
    ``owner`` for ``seconds`` at a time; ``claims`` counts the leases taken on it so far."""

    campaign: str
    shard: int
    lo: int
    hi: int
    keys: tuple[str, ...]
    owner: str
    seconds: float
    claims: int

    @property
    def margin(self) -> float:
        """Lease time that must be left for a commit (an intent before its POST) to go on."""
        return self.seconds / 3

    async def check(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """Inside the caller's transaction: lock the shard row; raise :class:`LeaseLostError`
        unless this lease holds it with at least :attr:`margin` seconds left."""
        cur = await conn.execute(
            "SELECT 1 FROM qjobs_shards WHERE campaign = %s AND shard = %s AND owner = %s "
            "AND state = 'open' AND expires_at > now() + make_interval(secs => %s) FOR UPDATE",
            (self.campaign, self.shard, self.owner, self.margin),
        )
        if await cur.fetchone() is None:
            raise LeaseLostError(
                f"worker {self.owner!r} no longer holds shard {self.shard} of campaign "
                f"{self.campaign} (lease expired or taken over); nothing was recorded"
            )


@attrs.frozen(slots=True)
class CampaignCounts:
    """A campaign's state as recorded: points, circuits with an intent (``recorded``) or a
    result, provider jobs created, shards done and leased now."""

    points: int
    recorded: int
    results: int
    jobs: int
    shards: int
    shards_done: int
    shards_leased: int

    @property
    def complete(self) -> bool:
        """True when every shard is done."""
        return self.shards_done == self.shards


async def create_campaign(
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
    campaign: str,
    spec: dict[str, Any],
    keys: Sequence[str],
    shard_size: int,
) -> None:
    """Record campaign ``campaign`` (``keys`` in point order, cut every ``shard_size``) unless it
    exists; concurrent callers create it once."""
    bounds = [(lo, min(lo + shard_size, len(keys))) for lo in range(0, len(keys), shard_size)]
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO qjobs_campaigns (id, spec, points, shards) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            (campaign, orjson.dumps(spec).decode(), len(keys), len(bounds)),
        )
        if await cur.fetchone() is None:
            return
        async with conn.cursor() as c:
            await c.executemany(
                "INSERT INTO qjobs_shards (campaign, shard, lo, hi, keys) "
                "VALUES (%s, %s, %s, %s, %s)",
                [(campaign, i, lo, hi, list(keys[lo:hi])) for i, (lo, hi) in enumerate(bounds)],
            )


async def claim(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], campaign: str, owner: str, seconds: float
) -> ShardLease | None:
    """Lease an open shard nobody holds (or whose lease expired) to ``owner``; None if none."""
    cur = await conn.execute(
        "UPDATE qjobs_shards s SET owner = %s, expires_at = now() + make_interval(secs => %s), "
        "claims = s.claims + 1 FROM (SELECT campaign, shard FROM qjobs_shards "
        "WHERE campaign = %s AND state = 'open' AND (owner IS NULL OR expires_at <= now()) "
        "ORDER BY shard LIMIT 1 FOR UPDATE SKIP LOCKED) AS free "
        "WHERE s.campaign = free.campaign AND s.shard = free.shard "
        "RETURNING s.shard, s.lo, s.hi, s.keys, s.claims",
        (owner, float(seconds), campaign),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    shard, lo, hi, keys, claims = row
    return ShardLease(campaign, shard, lo, hi, tuple(keys), owner, seconds, claims)


async def renew(conn: psycopg.AsyncConnection[tuple[Any, ...]], lease: ShardLease) -> bool:
    """Extend ``lease`` by its length from now; False when it is no longer held."""
    cur = await conn.execute(
        "UPDATE qjobs_shards SET expires_at = now() + make_interval(secs => %s) "
        "WHERE campaign = %s AND shard = %s AND owner = %s AND state = 'open' "
        "AND expires_at > now() RETURNING 1",
        (float(lease.seconds), lease.campaign, lease.shard, lease.owner),
    )
    return await cur.fetchone() is not None


async def finish(conn: psycopg.AsyncConnection[tuple[Any, ...]], lease: ShardLease) -> bool:
    """Mark the shard done (every result recorded); False when the lease was lost first."""
    cur = await conn.execute(
        "UPDATE qjobs_shards SET state = 'done', expires_at = NULL "
        "WHERE campaign = %s AND shard = %s AND owner = %s AND state = 'open' RETURNING 1",
        (lease.campaign, lease.shard, lease.owner),
    )
    return await cur.fetchone() is not None


async def campaign_counts(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], campaign: str
) -> CampaignCounts:
    """What the ledger records of ``campaign`` now."""
    cur = await conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE state = 'done'), "
        "count(*) FILTER (WHERE state = 'open' AND expires_at > now()) "
        "FROM qjobs_shards WHERE campaign = %s",
        (campaign,),
    )
    shards, done, leased = await _one(cur)
    cur = await conn.execute(
        "SELECT count(c.key), count(c.result), count(DISTINCT b.job_id) "
        "FROM qjobs_shards s CROSS JOIN LATERAL unnest(s.keys) AS k(key) "
        "JOIN qjobs_circuits c ON c.key = k.key LEFT JOIN qjobs_batches b ON b.key = c.batch "
        "WHERE s.campaign = %s",
        (campaign,),
    )
    recorded, results, jobs = await _one(cur)
    cur = await conn.execute("SELECT points FROM qjobs_campaigns WHERE id = %s", (campaign,))
    (points,) = await _one(cur)
    return CampaignCounts(points, recorded, results, jobs, shards, done, leased)


async def campaign_results(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], campaign: str
) -> tuple[dict[str, Any], list[bytes | None]]:
    """The campaign's description and every point's packed result (None if missing), in order."""
    cur = await conn.execute("SELECT spec FROM qjobs_campaigns WHERE id = %s", (campaign,))
    row = await cur.fetchone()
    if row is None:
        raise LedgerError(f"the ledger holds no campaign {campaign!r}")
    spec = row[0] if isinstance(row[0], dict) else orjson.loads(row[0])
    cur = await conn.execute(
        "SELECT c.result FROM qjobs_shards s CROSS JOIN LATERAL unnest(s.keys) "
        "WITH ORDINALITY AS k(key, n) LEFT JOIN qjobs_circuits c ON c.key = k.key "
        "WHERE s.campaign = %s ORDER BY s.shard, k.n",
        (campaign,),
    )
    blobs = [None if r[0] is None else bytes(r[0]) for r in await cur.fetchall()]
    return spec, blobs


async def only_campaign(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> str:
    """The id of the ledger's one campaign; :class:`LedgerError` when there are none or several."""
    cur = await conn.execute("SELECT id FROM qjobs_campaigns ORDER BY created_at LIMIT 2")
    rows = await cur.fetchall()
    if len(rows) != 1:
        raise LedgerError(
            "the ledger holds no campaign"
            if not rows
            else "the ledger holds several campaigns: name the one to assemble (campaign=)"
        )
    return str(rows[0][0])


async def _one(cur: psycopg.AsyncCursor[tuple[Any, ...]]) -> tuple[Any, ...]:
    row = await cur.fetchone()
    assert row is not None
    return tuple(row)
