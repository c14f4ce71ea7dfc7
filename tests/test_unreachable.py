"""An endpoint that refuses connections: retried per the RetryPolicy, then ConnectError.

Nothing waits for ``unknown_state_timeout`` (600 s by default) on "uncertain submission": a
refused connection proves nothing was created. Meanwhile the scheduler's Progress says what is
being retried and how long until the policy gives up. Each test gives the scheduler a large
``unknown_state_timeout`` so that a regression fails by the pytest timeout, never by a wait.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs.transport import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "http://127.0.0.1:1/v0.4"  # nothing listens on port 1
QASM = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; h q[0]; measure q[0] -> c[0];'
SWEPT = (
    'OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
    "rx(theta) q[0]; c = measure q;"
)
#: A tiny policy: 3 attempts, waits 0.001 s then 0.002 s (no jitter), within 60 s overall.
POLICY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01, max_time=60.0)
NO_JITTER = {"jitter": lambda value: value}


def _client(base_url: str = UNREACHABLE) -> qjobs.providers.ProviderClient:
    return qjobs.connect(
        "ionq", token="tok", base_url=base_url, retry=POLICY, transport_options=NO_JITTER
    )


async def _schedule_one(
    client: qjobs.providers.ProviderClient, held: list[qjobs.Scheduler], **options: Any
) -> None:
    async with qjobs.Scheduler(
        client, backend="simulator", shots=10, unknown_state_timeout=3600, **options
    ) as sched:
        held.append(sched)
        sched.submit(qjobs.Circuit.from_qasm(QASM))
        await sched.gather()


@pytest.mark.anyio
async def test_scheduler_fails_with_connect_error_after_the_policy() -> None:
    seen: list[qjobs.Progress] = []
    held: list[qjobs.Scheduler] = []
    async with _client() as client:
        with pytest.raises(qjobs.ConnectError, match=r"cannot connect to 127\.0\.0\.1:1"):
            await _schedule_one(client, held, on_progress=seen.append)
        sched, fut = held[0], held[0].futures[0]
        stats = client.transport.stats
        assert stats.total == 3  # one request, tried max_attempts times, then given up
        assert stats.retries == 2
    assert isinstance(fut.exception(), qjobs.ConnectError)
    final = sched.progress()
    assert (final.failed, final.jobs_submitted, final.retries, final.retrying) == (1, 0, 2, ())
    retrying = [p for p in seen if p.retrying]
    assert [p.retrying[0].attempt for p in retrying] == [1, 2]
    first = retrying[0].retrying[0]
    assert (first.what, first.error, first.max_attempts) == ("GET /backends", "ConnectError", 3)
    assert 0 <= first.next_attempt_in <= 0.001
    assert first.gives_up_in is not None
    assert 0 < first.gives_up_in <= 60.0
    message = retrying[1].retry_message
    assert message is not None
    assert message.startswith("retrying GET /backends: ConnectError, next attempt (3/3) in 0.0s")
    assert "gives up in" in message


@pytest.mark.anyio
async def test_sweep_raises_connect_error_and_reports_retries() -> None:
    sweep = qjobs.Sweep(qjobs.Circuit.from_qasm(SWEPT), {"theta": np.linspace(0, 1, 4)})
    seen: list[qjobs.Progress] = []
    async with _client() as client:
        with pytest.raises(qjobs.ConnectError):
            await sweep.run(
                client,
                backend="simulator",
                shots=10,
                batch_size=4,
                unknown_state_timeout=3600,
                progress=seen.append,
            )
        assert client.transport.stats.total == 3
    assert max(p.retries for p in seen) == 2
    assert any(p.retry_message and "ConnectError" in p.retry_message for p in seen)
    assert seen[-1].failed == 4


@asynccontextmanager
async def _gone_after_post() -> AsyncIterator[tuple[str, list[str]]]:
    """A hostile IonQ endpoint: no catalogue (404); a POST is dropped unanswered and the server
    stops listening, so the client's lookups of the key cannot connect."""
    lines: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode().rsplit(" ", 1)[0]
        lines.append(line)
        if line.startswith("POST"):
            server.close()  # stop listening: every later connection is refused
        else:
            writer.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v0.4", lines
    finally:
        server.close()


@pytest.mark.anyio
async def test_key_lookup_that_cannot_connect_is_bounded() -> None:
    async with _gone_after_post() as (base_url, lines), _client(base_url) as client:
        held: list[qjobs.Scheduler] = []
        with pytest.raises(qjobs.ConnectError):
            await _schedule_one(client, held)
        requests = client.transport.stats.requests
    assert lines == ["GET /v0.4/backends", "POST /v0.4/jobs"]
    assert requests["POST /jobs"] == 1  # an uncertain submission is never sent again
    assert requests["GET /jobs"] == 3  # the lookup by key: max_attempts, then ConnectError
    assert held[0].progress().jobs_submitted == 0


def test_cli_sweep_against_an_unreachable_endpoint_exits(tmp_path: Path) -> None:
    (tmp_path / "t.qasm").write_text(SWEPT, encoding="utf-8")
    (tmp_path / "t.toml").write_text(
        'template = "t.qasm"\nprovider = "ionq"\nbackend = "simulator"\nshots = 10\n'
        f'base_url = "{UNREACHABLE}"\n[params]\ntheta = [0.0, 1.0]\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "QISKIT_IONQ_"))}
    env.update(PYTHONPATH=str(ROOT), IONQ_API_KEY="tok")
    proc = subprocess.run(
        [sys.executable, "-m", "qjobs", "sweep", "t.toml", "--out", str(tmp_path / "o.npz")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # the default RetryPolicy gives up within seconds on a refused connection
        check=False,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "cannot connect to 127.0.0.1:1" in proc.stdout + proc.stderr
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.anyio
async def test_progress_display_says_what_is_retried() -> None:
    from qjobs.cli._progress import ProgressDisplay

    sweep = qjobs.Sweep(qjobs.Circuit.from_qasm(SWEPT), {"theta": [0.0, 1.0]})
    lines: list[str] = []
    async with _client() as client:
        display = ProgressDisplay(2, client.transport.stats, stream=io.StringIO())

        def shown(progress: qjobs.Progress) -> None:
            display.update(progress)
            lines.append(display.line())

        with pytest.raises(qjobs.ConnectError):
            await sweep.run(client, backend="simulator", shots=10, progress=shown)
    retrying = [line for line in lines if "retrying" in line]
    assert len(retrying) == 2  # one line per retry wait: attempts 2 and 3 of 3
    assert "| retries 1: retrying GET /backends: ConnectError, next attempt (2/3)" in retrying[0]
    assert "gives up in" in retrying[0]
    assert lines[-1].endswith("| retries 2")  # nothing waits any more; the count stays


@pytest.mark.anyio
async def test_progress_shows_the_schedulers_own_submit_retries() -> None:
    # Three dropped POSTs exhaust the client's keyed create-once (each dropped before handling:
    # the lookups find nothing); the scheduler then waits and submits again, and says so.
    faults = [{"kind": "drop", "route": "POST /jobs", "count": 3}]
    seen: list[qjobs.Progress] = []
    async with qjobs.emulators.serve("ionq", faults=faults) as server:
        async with _client(server.base_url) as client:
            held: list[qjobs.Scheduler] = []
            await _schedule_one(client, held, on_progress=seen.append)
        assert server.stats.jobs_created == 1
    own = [w for p in seen for w in p.retrying if w.what.startswith("submit ")]
    assert len(own) == 1
    assert (own[0].error, own[0].attempt, own[0].max_attempts) == ("SubmitUncertainError", 1, 6)
    assert own[0].gives_up_in is None
    assert "gives up after attempt 6" in str(own[0])
    assert held[0].progress().retries == 1
    assert held[0].progress().completed == 1
