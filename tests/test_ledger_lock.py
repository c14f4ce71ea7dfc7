"""The ledger lock: one scheduler per ledger file, in one process and across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

from qjobs import Capabilities, Circuit, InputError, Instruction
from qjobs.scheduler import Scheduler
from qjobs.testing import SUBMIT, FakeProvider

pytestmark = pytest.mark.anyio

FAST: dict[str, Any] = {"poll_initial": 0.001, "poll_max": 0.004}
CAPS = Capabilities(max_circuits_per_job=10, poll_initial=0.001, submit_key=True)


def circ(value: int, width: int = 3) -> Circuit:
    ins = [Instruction("x", (q,)) for q in range(width) if (value >> q) & 1]
    ins += [Instruction("measure", (q,), (), (q,)) for q in range(width)]
    return Circuit(width, width, tuple(ins))


async def test_second_scheduler_in_the_same_process_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    first = FakeProvider(capabilities=CAPS)
    second = FakeProvider(capabilities=CAPS)
    async with Scheduler(first, shots=5, ledger=db, **FAST) as s:
        with pytest.raises(InputError) as info:
            async with Scheduler(second, shots=5, ledger=db, **FAST):
                pytest.fail("entered a scheduler on a ledger in use")
        assert info.value.field == "ledger"
        assert info.value.value == str(db)
        assert "in use by another scheduler" in str(info.value)
        assert f"process {os.getpid()}" in str(info.value)
        # the refused scheduler touched neither the provider nor the first scheduler's run
        for i in range(4):
            s.submit(circ(i))
        results = await s.gather()
    assert second.stats.requests == {}
    assert [r.counts for r in results] == [{format(i, "03b"): 5} for i in range(4)]
    # released on exit: a new scheduler reads every result back without a request
    third = FakeProvider(capabilities=CAPS)
    async with Scheduler(third, shots=5, ledger=db, **FAST) as s:
        for i in range(4):
            s.submit(circ(i))
        again = await s.gather()
        assert s.progress().from_ledger == 4
    assert third.stats.requests == {}
    assert [r.counts for r in again] == [r.counts for r in results]


async def test_lock_is_released_when_entering_fails(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    db.write_bytes(b"this is not a SQLite database, it is long enough to be read as one" * 10)
    with pytest.raises(Exception, match="not a database"):
        async with Scheduler(FakeProvider(capabilities=CAPS), shots=5, ledger=db, **FAST):
            pass
    db.unlink()
    async with Scheduler(FakeProvider(capabilities=CAPS), shots=5, ledger=db, **FAST) as s:
        s.submit(circ(1))
        assert (await s.gather())[0].counts == {"001": 5}


HOLDER = textwrap.dedent(
    """
    import sys
    import anyio
    from qjobs import Capabilities
    from qjobs.scheduler import Scheduler
    from qjobs.testing import FakeProvider

    async def main() -> None:
        fake = FakeProvider(capabilities=Capabilities(submit_key=True))
        async with Scheduler(fake, shots=5, ledger=sys.argv[1]):
            print("LOCKED", flush=True)
            await anyio.to_thread.run_sync(sys.stdin.readline)

    anyio.run(main)
    """
)


def test_second_process_is_refused_until_the_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "LOCKED"

        async def enter() -> int:
            fake = FakeProvider(capabilities=CAPS)
            async with Scheduler(fake, shots=5, ledger=db, **FAST) as s:
                s.submit(circ(2))
                await s.gather()
            return fake.stats.requests.get(SUBMIT, 0)

        with pytest.raises(InputError) as info:
            anyio.run(enter)
        assert info.value.field == "ledger"
        assert f"process {child.pid}" in str(info.value)
        child.send_signal(signal.SIGKILL)  # no clean exit: the OS drops the lock
        assert child.wait(timeout=30) == -signal.SIGKILL
        assert anyio.run(enter) == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
