"""Mixing the async and the blocking surfaces raises a clear TypeError at once, never hangs.

A ``qjobs_sync`` client lives on the facade's background loop; an async client on the caller's.
Handing one to the other surface used to loop on "uncertain submission" or deadlock inside
``asyncio.run``. Each mix is checked against a real emulator: no request is sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import qjobs
import qjobs_sync

ROOT = Path(__file__).resolve().parent.parent
SWEPT = (
    'OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
    "rx(theta) q[0]; c = measure q;"
)


def _sweep() -> qjobs.Sweep:
    return qjobs.Sweep(qjobs.Circuit.from_qasm(SWEPT), {"theta": np.linspace(0, 1, 3)})


@pytest.mark.anyio
async def test_async_scheduler_rejects_a_sync_client() -> None:
    async with qjobs.emulators.serve("ionq") as server:
        client = qjobs_sync.connect("ionq", token="t", base_url=server.base_url)
        with client, pytest.raises(TypeError) as info:
            qjobs.Scheduler(client, backend="simulator", shots=10)  # type: ignore[arg-type]
        assert server.stats.total_requests == 0
    message = str(info.value)
    assert message.startswith("qjobs.Scheduler needs an async client from qjobs.connect(...)")
    assert "got a qjobs_sync client (IonQClient)" in message
    assert "use qjobs_sync.Scheduler" in message


@pytest.mark.anyio
async def test_async_sweep_run_rejects_a_sync_client() -> None:
    async with qjobs.emulators.serve("ionq") as server:
        client = qjobs_sync.connect("ionq", token="t", base_url=server.base_url)
        with client, pytest.raises(TypeError, match=r"use qjobs_sync\.Sweep\(\.\.\.\)\.run"):
            await _sweep().run(client, backend="simulator", shots=10)  # type: ignore[arg-type]
        assert server.stats.total_requests == 0


@pytest.mark.anyio
async def test_async_scheduler_rejects_what_is_not_a_client() -> None:
    with pytest.raises(TypeError, match=r"needs an async provider client .* got str"):
        qjobs.Scheduler("ionq", shots=10)  # type: ignore[arg-type]


def test_sync_scheduler_rejects_an_async_client() -> None:
    with qjobs_sync.emulators.serve("ionq") as server:
        client = qjobs.connect("ionq", token="t", base_url=server.base_url)
        with pytest.raises(TypeError) as info:
            qjobs_sync.Scheduler(client, backend="simulator", shots=10)  # type: ignore[arg-type]
        assert server.stats.total_requests == 0
    message = str(info.value)
    assert "qjobs_sync needs a blocking client from qjobs_sync.connect(...)" in message
    assert "got an async qjobs client (IonQClient, from qjobs.connect)" in message
    assert "qjobs.Scheduler" in message


def test_sync_sweep_run_rejects_an_async_client() -> None:
    with qjobs_sync.emulators.serve("ionq") as server:
        client = qjobs.connect("ionq", token="t", base_url=server.base_url)
        sweep = qjobs_sync.Sweep(qjobs.Circuit.from_qasm(SWEPT), {"theta": [0.0, 1.0]})
        with pytest.raises(TypeError, match=r"qjobs_sync\.connect\(\.\.\.\)"):
            sweep.run(client, backend="simulator", shots=10)  # type: ignore[arg-type]
        assert server.stats.total_requests == 0


CHILD = textwrap.dedent(
    """
    import asyncio
    import qjobs, qjobs_sync

    SWEPT = {swept!r}

    async def main():
        async with qjobs.emulators.serve("ionq") as server:
            async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
                await client.backends()  # the client's session now belongs to this loop
                sweep = qjobs_sync.Sweep(qjobs.Circuit.from_qasm(SWEPT), {{"theta": [0.0, 1.0]}})
                try:
                    sweep.run(client, backend="simulator", shots=10)
                except TypeError as exc:
                    print("TypeError:", exc)
                print("jobs created:", server.stats.jobs_created)

    asyncio.run(main())
    """
)


@pytest.mark.timeout(60)
def test_sync_sweep_run_of_an_async_client_inside_asyncio_run_does_not_deadlock(
    tmp_path: Path,
) -> None:
    script = tmp_path / "mix.py"
    script.write_text(CHILD.format(swept=SWEPT), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=45,  # a regression deadlocks: this fails the test instead of hanging the suite
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("TypeError: qjobs_sync needs a blocking client from qjobs_sync.")
    assert lines[1] == "jobs created: 0"
