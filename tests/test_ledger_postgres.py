"""What only the PostgreSQL ledger has: its migration table, ownership by advisory lock, and a
URL whose password is never shown. (Behaviour shared with SQLite: tests/test_ledger.py.)"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from qjobs import Capabilities, Circuit, InputError, Instruction, LedgerError
from qjobs.scheduler import Scheduler
from qjobs.scheduler._ledger_backend import open_ledger, redact_url
from qjobs.scheduler._ledger_pg_schema import LATEST, MIGRATIONS
from qjobs.testing import FakeProvider

pytestmark = pytest.mark.anyio

CAPS = Capabilities(max_circuits_per_job=10, poll_initial=0.001, submit_key=True)
FAST: dict[str, Any] = {"poll_initial": 0.001, "poll_max": 0.004}


def circ(value: int) -> Circuit:
    ins = [Instruction("x", (q,)) for q in range(3) if (value >> q) & 1]
    ins += [Instruction("measure", (q,), (), (q,)) for q in range(3)]
    return Circuit(3, 3, tuple(ins))


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.encode()).fetchall()


async def test_schema_is_created_once_and_recorded(pg_url: str) -> None:
    for _ in range(2):
        async with Scheduler(FakeProvider(capabilities=CAPS), shots=5, ledger=pg_url, **FAST) as s:
            s.submit(circ(1))
    applied = rows(pg_url, "SELECT version, name FROM qjobs_schema_migrations ORDER BY version")
    assert applied == [(v, name) for v, name, _ in MIGRATIONS]
    tables = {
        name
        for (name,) in rows(
            pg_url, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'qjobs%%'"
        )
    }
    assert tables == {
        "qjobs_schema_migrations",
        "qjobs_batches",
        "qjobs_circuits",
        "qjobs_campaigns",
        "qjobs_shards",
        "qjobs_budgets",
    }
    assert rows(pg_url, "SELECT count(*) FROM qjobs_circuits") == [(1,)]


async def test_a_newer_schema_is_refused_before_any_request(pg_url: str) -> None:
    ledger = open_ledger(pg_url)
    assert ledger is not None
    await ledger.open()
    await ledger.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO qjobs_schema_migrations (version, name) VALUES (%s, 'future')",
            (LATEST + 1,),
        )
    fake = FakeProvider(capabilities=CAPS)
    with pytest.raises(LedgerError, match=f"schema version {LATEST + 1}"):
        async with Scheduler(fake, shots=5, ledger=pg_url, **FAST):
            pass
    assert fake.stats.total == 0


async def test_second_scheduler_on_one_database_is_refused(pg_url: str) -> None:
    fake = FakeProvider(capabilities=CAPS)
    async with Scheduler(fake, shots=5, ledger=pg_url, **FAST) as s:
        s.submit(circ(2))
        with pytest.raises(InputError, match="in use by another scheduler"):
            async with Scheduler(FakeProvider(capabilities=CAPS), shots=5, ledger=pg_url):
                pass
    # released with the first scheduler's session: a third one opens at once
    async with Scheduler(FakeProvider(capabilities=CAPS), shots=5, ledger=pg_url, **FAST) as s:
        assert (await s.submit(circ(2))).counts == {"010": 5}
        assert s.progress().from_ledger == 1


def test_redact_url_hides_only_the_password() -> None:
    url = "postgresql://alice:s3cr%40t-pw@db.example:5433/runs?sslmode=require"
    shown = redact_url(url)
    assert shown == "postgresql://alice:***@db.example:5433/runs?sslmode=require"
    assert redact_url("postgresql://alice@/runs?host=/tmp") == "postgresql://alice@/runs?host=/tmp"


async def test_password_never_appears_in_errors_reprs_or_logs(
    postgres_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    password = "hunter2-very-secret"
    url = (
        f"postgresql://nobody:{password}@/no_such_database_here?host={postgres_server.dir}"
        "&connect_timeout=5"
    )
    ledger = open_ledger(url)
    assert ledger is not None
    assert password not in repr(ledger)
    assert password not in ledger.path
    caplog.set_level(logging.DEBUG)
    fake = FakeProvider(capabilities=CAPS)
    sched = Scheduler(fake, shots=5, ledger=url)
    assert password not in repr(sched)
    with pytest.raises(LedgerError) as info:
        async with sched:
            pass
    text = " ".join(
        [
            str(info.value),
            repr(info.value),
            str(info.value.__context__),
            *getattr(info.value, "__notes__", []),
        ]
    )
    assert "cannot be reached" in text
    assert "nobody:***@" in text
    assert password not in text
    assert password not in caplog.text
    assert fake.stats.total == 0


async def test_a_lost_lease_fences_the_shards_ledger(pg_url: str) -> None:
    """Once another worker took the shard over, the first one can record nothing (no intent,
    so no POST), renew nothing and finish nothing."""
    from qjobs.scheduler._ledger_backend import Ledger
    from qjobs.scheduler._ledger_pg import PostgresStore, connect
    from qjobs.scheduler._ledger_pg_schema import migrate
    from qjobs.scheduler._ledger_pg_shards import (
        LeaseLostError,
        claim,
        create_campaign,
        finish,
        renew,
    )

    conn = await connect(pg_url)
    try:
        await migrate(conn, "test")
        keys = [f"k{i}" for i in range(4)]
        await create_campaign(conn, "c1", {"points": 4}, keys, 2)
        await create_campaign(conn, "c1", {"points": 4}, keys, 2)  # a second worker: no-op
        first = await claim(conn, "c1", "a", 30.0)
        assert first is not None
        assert (first.shard, first.keys, first.claims) == (0, ("k0", "k1"), 1)
        ledger = Ledger(PostgresStore(pg_url, fence=first, keys=first.keys))
        assert await ledger.open() == ({}, {})
        ledger.intent("b0", [("k0", 0, 1)])
        await ledger.flush()
        # the lease runs out (a stalled worker), and worker b takes the shard over
        await conn.execute("UPDATE qjobs_shards SET expires_at = now() WHERE shard = 0")
        second = await claim(conn, "c1", "b", 30.0)
        assert second is not None
        assert (second.shard, second.claims) == (0, 2)
        ledger.intent("b1", [("k1", 1, 1)])
        with pytest.raises(LeaseLostError, match="no longer holds shard 0"):
            await ledger.flush()
        await ledger.store.release()
        assert not await renew(conn, first)
        assert not await finish(conn, first)
        assert await finish(conn, second)
    finally:
        await conn.close()
    assert rows(pg_url, "SELECT key FROM qjobs_batches") == [("b0",)]
    assert rows(pg_url, "SELECT key FROM qjobs_circuits") == [("k0",)]
    assert rows(pg_url, "SELECT owner, state FROM qjobs_shards ORDER BY shard") == [
        ("b", "done"),
        (None, "open"),
    ]
