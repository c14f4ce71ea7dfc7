"""Ledger identity: a ledger answers only for the provider and endpoint that did the work.

Real clients against in-process emulators over loopback; the emulators' statistics count the
jobs each server created.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

import qjobs
from qjobs.emulators import Server
from qjobs.providers._base import endpoint_of
from qjobs.scheduler import Scheduler
from qjobs.sweep import Sweep, SweepResult
from qjobs.testing import FakeProvider
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

TOKEN = "sk-ledger-identity-5ecret"
TEMPLATE = """OPENQASM 3.0; include "stdgates.inc"; input float t;
qubit[2] q; bit[2] c; ry(t) q[0]; cx q[0], q[1]; c = measure q;"""


async def _run(
    name: str, server: Server, ledger: Path, sweep: Sweep
) -> tuple[SweepResult, int, set[str]]:
    """The sweep on ``server`` (backend=None, so only the target tells runs apart); returns the
    result, the requests the client made and the ids of every job the server holds."""
    async with qjobs.connect(
        name,
        token=TOKEN,
        base_url=server.base_url,
        rate_limit=RateLimit(requests_per_second=None),
    ) as client:
        out = await sweep.run(client, shots=64, ledger=ledger, poll_initial=0.02, poll_max=0.05)
        requests = client.transport.stats.total
        ids = {job.id async for job in client.iter_jobs()}
    return out, requests, ids


async def test_one_ledger_keeps_campaigns_of_providers_and_endpoints_apart(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "run.db"
    sweep = Sweep(TEMPLATE, {"t": np.linspace(0.2, 2.9, 4)})
    async with (
        qjobs.emulators.serve("ionq", seed=1) as ionq_a,
        qjobs.emulators.serve("kipu", seed=2) as kipu,
        qjobs.emulators.serve("qbraid", seed=4) as qbraid,
        qjobs.emulators.serve("ionq", seed=3) as ionq_b,
    ):
        assert ionq_a.base_url != ionq_b.base_url  # another port
        first, req_a, ids_a = await _run("ionq", ionq_a, ledger, sweep)
        on_kipu, req_k, ids_k = await _run("kipu", kipu, ledger, sweep)
        on_qbraid, req_q, ids_q = await _run("qbraid", qbraid, ledger, sweep)
        on_b, req_b, ids_b = await _run("ionq", ionq_b, ledger, sweep)
        again, req_again, _ = await _run("ionq", ionq_a, ledger, sweep)
        created = [s.stats.jobs_created for s in (ionq_a, kipu, qbraid, ionq_b)]

    # each server did its own run's work; the rerun on A made no request at all
    assert created == [1, 4, 1, 1]  # IonQ and qBraid batch the 4 points in one job; Kipu does not
    assert min(req_a, req_k, req_q, req_b) > 0
    assert req_again == 0
    assert again.metadata["requests"] == again.metadata["jobs"] == 0
    runs = ((first, ids_a), (on_kipu, ids_k), (on_qbraid, ids_q), (on_b, ids_b))
    for out, ids in runs:
        assert out.metadata["requests"] > 0
        assert set(out.job_ids) <= ids  # every result came from that run's server
        np.testing.assert_allclose(out.probabilities.sum(axis=-1), 1.0)
    all_ids = [jid for out, _ in runs for jid in set(out.job_ids)]
    assert len(all_ids) == len(set(all_ids)) == 1 + 4 + 1 + 1  # no job id answers twice
    assert again.job_ids == first.job_ids
    assert again.counts == first.counts
    np.testing.assert_array_equal(again.probabilities, first.probabilities)
    # the ledger holds three campaigns side by side, and never the token
    con = sqlite3.connect(ledger)
    assert con.execute("SELECT count(*) FROM circuits").fetchone()[0] == 16
    con.close()
    files = [tmp_path / n for n in ("run.db", "run.db-wal", "run.db-shm", "run.db.lock")]
    written = {f.name: f.read_bytes() for f in files if f.exists()}
    assert len(written["run.db"]) > 4096
    assert not [name for name, data in written.items() if TOKEN.encode() in data]


def test_endpoint_is_normalised_without_secrets() -> None:
    same = [
        "HTTPS://User:pw@API.Example.COM/v0.4/",
        "https://api.example.com:443/v0.4?token=abc#frag",
        "https://api.example.com/v0.4",
    ]
    assert {endpoint_of(u) for u in same} == {"https://api.example.com:443/v0.4"}
    assert endpoint_of("http://127.0.0.1/v1") == "http://127.0.0.1:80/v1"
    assert endpoint_of("http://127.0.0.1:8080/v1") != endpoint_of("http://127.0.0.1:8081/v1")
    assert endpoint_of("http://[::1]:9/x//") == "http://[::1]:9/x"
    assert endpoint_of("https://h/A") != endpoint_of("https://h/a")  # paths keep their case
    assert FakeProvider().endpoint == "fake://qjobs"


async def test_client_endpoint_never_holds_the_token() -> None:
    async with qjobs.emulators.serve("ionq") as server:
        # credentials in userinfo are refused outright (without echoing them)
        userinfo = server.base_url.replace("http://", f"http://user:{TOKEN}@")
        with pytest.raises(qjobs.InputError) as info:
            qjobs.connect("ionq", token=TOKEN, base_url=userinfo)
        assert TOKEN not in str(info.value)
        url = server.base_url + "/?key=" + TOKEN
        async with qjobs.connect("ionq", token=TOKEN, base_url=url) as client:
            assert TOKEN not in client.endpoint
            assert client.endpoint == endpoint_of(server.base_url)


@pytest.mark.parametrize("version", ["1", "99"])
async def test_ledger_of_another_version_is_refused_before_any_request(
    tmp_path: Path, version: str
) -> None:
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('version', ?)", (version,))
    con.execute(
        "CREATE TABLE circuits (key TEXT PRIMARY KEY, idx INTEGER NOT NULL, "
        "gen INTEGER NOT NULL, batch TEXT, pos INTEGER, result BLOB)"
    )
    con.commit()
    con.close()
    fake = FakeProvider()
    with pytest.raises(qjobs.LedgerError) as info:
        async with Scheduler(fake, shots=5, ledger=db):
            pass  # pragma: no cover - never entered
    message = str(info.value)
    assert str(db) in message
    assert "move the file aside" in message
    assert ("older qjobs" in message) == (version == "1")
    assert fake.stats.total == 0
    # the refusal released the file: a fresh ledger at another path works at once
    async with Scheduler(fake, shots=5, ledger=tmp_path / "new.db") as sched:
        sched.submit(qjobs.Circuit.from_qasm("OPENQASM 2.0; qreg q[1]; creg c[1]; measure q -> c;"))
    assert fake.stats.jobs_created == 1
