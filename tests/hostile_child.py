"""Run one hostile-server case under a memory limit; print the outcome and the peak RSS.

Usage: ``python tests/hostile_child.py CASE LIMIT_MB``. Prints one JSON line
``{"case", "outcome", "error", "peak_rss_kb", "vm_hwm_kb"}``: ``outcome`` is ``"refused"``
when qjobs raised MalformedResponseError, ``"memory"`` on MemoryError (also when it was caught
and reported inside another error), ``"accepted"`` when a result came back.
"""

from __future__ import annotations

import resource
import sys


def main() -> None:
    case, limit_mb = sys.argv[1], int(sys.argv[2])
    limit = limit_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import json

    import anyio

    outcome, error = "accepted", ""
    try:
        anyio.run(CASES[case])
    except MemoryError as exc:
        outcome, error = "memory", repr(exc)[:200]
    except Exception as exc:
        from qjobs import MalformedResponseError

        error = f"{type(exc).__name__}: {exc}"[:300]
        kind = isinstance(exc, MalformedResponseError)
        outcome = "memory" if "MemoryError" in error else "refused" if kind else "error"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"case": case, "outcome": outcome, "error": error, "peak_rss_kb": peak}
    report["vm_hwm_kb"] = _vm_hwm()
    print(json.dumps(report))


def _vm_hwm() -> int | None:
    """This process image's own peak RSS (``ru_maxrss`` keeps the parent's across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


async def _qibo_archive(archive: bytes) -> None:
    from hostile_server import BELL

    import qjobs
    from qjobs.emulators.qibo import EMULATOR_KEY
    from qjobs.transport import RateLimit

    async with qjobs.emulators.serve("qibo") as server:
        client = qjobs.connect(
            "qibo", token="t", base_url=server.base_url, rate_limit=RateLimit(None)
        )
        async with client:
            job = await client.submit(BELL, shots=4)
            server.app[EMULATOR_KEY].replace_archive(job.id, archive)
            await client.results(job, source="archive")  # type: ignore[call-arg]


async def qibo_longname() -> None:
    from hostile_server import longname_archive

    await _qibo_archive(longname_archive(300 * 2**20))


async def qibo_bytearray() -> None:
    from hostile_server import bytearray_npy, tar_gz

    await _qibo_archive(tar_gz(("results.npy", bytearray_npy(2**30))))


async def qibo_samples() -> None:
    from hostile_server import samples_npy, tar_gz

    await _qibo_archive(tar_gz(("results.npy", samples_npy(30))))


async def ionq_wide_key() -> None:
    from hostile_server import fake_server

    import qjobs
    from qjobs import Job, JobStatus
    from qjobs.transport import RateLimit

    routes = {"/results/probabilities": {"17179869183": 1.0}}
    async with fake_server(routes, "/v0.4") as server:
        client = qjobs.connect(
            "ionq", token="t", base_url=server.base_url, rate_limit=RateLimit(None)
        )
        job = Job("j1", "ionq", JobStatus.COMPLETED, "completed", shots=10)
        async with client:
            await client.results(job)


CASES = {
    "qibo-longname": qibo_longname,
    "qibo-bytearray": qibo_bytearray,
    "qibo-samples": qibo_samples,
    "ionq-wide-key": ionq_wide_key,
}

if __name__ == "__main__":
    main()
