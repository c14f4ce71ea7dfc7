"""``python -m benchmarks.scale_out``: one campaign on 1, 2 and 4 Dask worker processes.

Not part of ``python -m benchmarks`` (it takes minutes and needs PostgreSQL and Dask). Two parts,
each against one IonQ emulator process with zero latency, queue and execution time, and a
private PostgreSQL server (Unix socket only, as the tests start it) unless ``--ledger`` names one:

- **CPU-heavy**: a template of ``--qubits`` qubits and ``--layers`` layers (rx and rz on every
  qubit, a cx chain: many gates to bind, encode and hash per point), and per result a numpy
  post-processing in the worker (:func:`postprocess`: a kernel matrix of the outcome
  distribution and its spectrum). Run with 1, 2 and 4 Dask workers (a fresh
  ``LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` each, startup not timed).
  The post-processing runs in a client subclass (:class:`PostProcessingIonQ`) whose
  ``results()`` post-processes each result, so the tasks here call
  :func:`qjobs.sweep._workers.work_on_campaign` with it; the coordination is
  :func:`qjobs.sweep.run_on_dask`'s (prepare task, one task per worker, assemble).
- **Pure submission**: a one-qubit circuit, no post-processing: one process
  (``Sweep.run``, no ledger) against :func:`qjobs.sweep.run_on_dask` on 1, 2 and 4 workers.

Every run checks jobs created == points (emulator statistics) and that every point has a result.
The client's rate limit is lifted (``RateLimit(requests_per_second=None)``) everywhere, so that
CPU, not the provider's published cap, bounds every run; Dask's nannies pin BLAS to one thread
per worker (``distributed.nanny.pre-spawn-environ``). Prints a table with the machine's
usable cores: on a machine with 2, 4 workers cannot beat 2.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np

import qjobs
from benchmarks._emulator import EmulatorProcess, reset_stats, stats
from benchmarks._machine import machine_info
from qjobs.providers.ionq import IonQClient
from qjobs.sweep._dask import WorkerTask, prepare_task, run_on_dask
from qjobs.transport import RateLimit

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "scale-out-token"
#: Size of the kernel matrix :func:`postprocess` diagonalises per result.
KERNEL = 448
#: No client-side cap: CPU bounds the runs, not IonQ's published 100 requests/s.
UNCAPPED = RateLimit(requests_per_second=None, max_concurrent=64)


def postprocess(probabilities: np.ndarray[Any, Any]) -> float:
    """A CPU-heavy summary of one outcome distribution (a few ms of numpy on one core)."""
    p = np.resize(np.asarray(probabilities, dtype=np.float64), KERNEL)
    kernel = np.exp(-(np.subtract.outer(p, p) ** 2)) + np.eye(KERNEL)
    spectrum = np.linalg.eigvalsh(kernel)
    return float(spectrum[-1])


class PostProcessingIonQ(IonQClient):
    """The IonQ client, post-processing every result it fetches (in the worker process)."""

    async def results(self, job: Any, **options: Any) -> list[qjobs.Result]:
        """The job's results, each post-processed once fetched."""
        out = await super().results(job, **options)
        for r in out:
            postprocess(r.probabilities)
        return out


def heavy_task(task: WorkerTask) -> dict[str, Any]:
    """A Dask task: work on the campaign with a post-processing client (cf. ``worker_task``)."""
    return anyio.run(_heavy, task)


async def _heavy(task: WorkerTask) -> dict[str, Any]:
    from qjobs.sweep._workers import default_worker_id, work_on_campaign

    async with PostProcessingIonQ(**dict(task.connect_options)) as client:
        await work_on_campaign(
            task.sweep,
            client,
            task.ledger_url,
            worker_id=f"{default_worker_id()}:bench{task.index}",
            backend=task.backend,
            shots=task.shots,
            shard_size=task.shard_size,
            lease=task.lease,
            **dict(task.scheduler_options),
        )
        return {"requests": client.transport.stats.total}


def heavy_template(qubits: int, layers: int) -> qjobs.Circuit:
    """``layers`` x (rx(t*k), rz(t/k) on every qubit, then a cx chain), all qubits measured."""
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', "input float t;"]
    lines += [f"qubit[{qubits}] q;", f"bit[{qubits}] c;"]
    for layer in range(layers):
        for k in range(qubits):
            f = 1 + (layer * qubits + k) % 7
            lines.append(f"rx(t * {f}) q[{k}]; rz(t / {f}) q[{k}];")
        lines += [f"cx q[{k}], q[{k + 1}];" for k in range(qubits - 1)]
    lines.append("c = measure q;")
    return qjobs.Circuit.from_qasm("\n".join(lines))


def trivial_template() -> qjobs.Circuit:
    """One qubit, one rotation."""
    return qjobs.Circuit.from_qasm(
        "OPENQASM 3.0; input float t; qubit[1] q; bit[1] c; rx(t) q[0]; c = measure q;"
    )


@contextmanager
def dask_cluster(workers: int) -> Iterator[Any]:
    """A client on a fresh LocalCluster of ``workers`` single-threaded processes on 127.0.0.1."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _options(base_url: str, shard_size: int) -> dict[str, Any]:
    return {
        "connect_options": {"token": TOKEN, "base_url": base_url, "rate_limit": UNCAPPED},
        "backend": "simulator",
        "shots": 100,
        "shard_size": shard_size,
        "batch_size": 1,
        "poll_initial": 0.01,
        "poll_max": 0.05,
    }


def _heavy_run(
    client: Any, sweep: qjobs.Sweep, new_db: Callable[[], str], options: dict[str, Any]
) -> float:
    """The CPU-heavy campaign on ``client``'s workers, in a new database; its wall time."""
    url = new_db()
    opts = dict(options)
    task = WorkerTask(
        sweep,
        "ionq",
        url,
        opts.pop("connect_options"),
        opts.pop("backend"),
        opts.pop("shots"),
        opts.pop("shard_size"),
        30.0,
        opts,
    )
    started = time.perf_counter()
    campaign = client.submit(prepare_task, task, pure=False).result()
    workers = list(client.scheduler_info()["workers"])
    futures = [
        client.submit(heavy_task, attrs.evolve(task, index=i), workers=[w], pure=False)
        for i, w in enumerate(workers)
    ]
    client.gather(futures)
    result = anyio.run(_assemble, url, campaign)
    wall = time.perf_counter() - started
    assert result.size == sweep.size
    return wall


async def _assemble(url: str, campaign: str) -> qjobs.SweepResult:
    from qjobs.sweep import assemble

    return await assemble(url, campaign=campaign)


def _pure_dask_run(
    client: Any, sweep: qjobs.Sweep, new_db: Callable[[], str], options: dict[str, Any]
) -> float:
    url = new_db()
    started = time.perf_counter()
    result = anyio.run(_run_on_dask, client, sweep, url, options)
    wall = time.perf_counter() - started
    assert result.size == sweep.size
    return wall


async def _run_on_dask(
    client: Any, sweep: qjobs.Sweep, url: str, options: dict[str, Any]
) -> qjobs.SweepResult:
    return await run_on_dask(sweep, "ionq", url, client=client, **options)


async def _one_process(sweep: qjobs.Sweep, base_url: str) -> float:
    async with qjobs.connect("ionq", token=TOKEN, base_url=base_url, rate_limit=UNCAPPED) as client:
        started = time.perf_counter()
        result = await sweep.run(
            client, backend="simulator", shots=100, batch_size=1, poll_initial=0.01, poll_max=0.05
        )
        wall = time.perf_counter() - started
    assert result.size == sweep.size
    return wall


@attrs.frozen
class Run:
    """One measured run: wall time, and CPU seconds of the Dask workers (all of them), the
    emulator, the PostgreSQL server and this process."""

    label: str
    workers: int
    points: int
    wall_s: float
    jobs: int
    cpu: dict[str, float]


def _proc_cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds of process ``pid`` (``reaped``: plus its children that have exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children_cpu(parent: int) -> float:
    """CPU seconds of the live children of ``parent``."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            total += _proc_cpu(int(entry.name))
    return total


@attrs.frozen
class Meters:
    """Where CPU time is read: the emulator's and the PostgreSQL postmaster's process ids."""

    emulator: int
    postmaster: int | None

    def read(self, dask: Any) -> dict[str, float]:
        """CPU seconds so far, by role (the server's exited backends included)."""
        pg = 0.0
        if self.postmaster is not None:
            pg = _proc_cpu(self.postmaster, reaped=True) + _children_cpu(self.postmaster)
        return {
            "workers": 0.0 if dask is None else float(sum(dask.run(time.process_time).values())),
            "emulator": _proc_cpu(self.emulator),
            "postgres": pg,
            "caller": time.process_time(),
        }


@contextmanager
def postgres(url: str | None) -> Iterator[tuple[Callable[[], str], int | None]]:
    """A function returning a fresh database URL per run, and the postmaster's pid when the
    server is the private one started here (else ``url`` every time, and None)."""
    if url is not None:
        yield (lambda: url), None
        return
    spec = importlib.util.spec_from_file_location("pg", ROOT / "tests" / "postgres_server.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bindir = module.find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: pass --ledger postgresql://...")
    server = module.PostgresServer(bindir)
    server.start()
    try:
        pid = int((server.data / "postmaster.pid").read_text().split()[0])
        yield server.new_database, pid
    finally:
        server.stop()


def _measure(
    label: str, points: int, base_url: str, meters: Meters, dask: Any, run: Any, repeat: int
) -> Run:
    """Time ``run()`` (which must create one job per point) ``repeat`` times and meter the CPU
    each took; the fastest run counts (the others were slowed by other load on the machine)."""
    best: Run | None = None
    workers = 1 if dask is None else len(dask.scheduler_info()["workers"])
    for _ in range(repeat):
        reset_stats(base_url)
        before = meters.read(dask)
        wall = run()
        after = meters.read(dask)
        jobs = int(stats(base_url)["jobs_created"])
        if jobs != points:
            raise SystemExit(f"{label}: {jobs} jobs created for {points} points")
        cpu = {k: after[k] - before[k] for k in after}
        if best is None or wall < best.wall_s:
            best = Run(label, workers, points, wall, jobs, cpu)
    assert best is not None
    shown = " ".join(f"{k} {v:5.1f}" for k, v in best.cpu.items())
    print(
        f"  {label:<24} {best.wall_s:7.2f} s {points / best.wall_s:7.1f} points/s | CPU s: {shown}",
        flush=True,
    )
    return best


def main(argv: Sequence[str] | None = None) -> int:
    """Run both parts and print the figures."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale_out", description=__doc__)
    p.add_argument("--points", type=int, default=400, help="points of the CPU-heavy sweep")
    p.add_argument("--qubits", type=int, default=8)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--shard-size", type=int, default=25, help="points per shard (CPU-heavy)")
    p.add_argument("--pure-points", type=int, default=2000, help="points of the pure submission")
    p.add_argument("--workers", default="1,2,4", help="Dask worker counts, comma-separated")
    p.add_argument("--repeat", type=int, default=3, help="runs of each case; the fastest counts")
    p.add_argument("--ledger", default=None, help="a postgresql:// server (default: private)")
    args = p.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    machine = machine_info(ROOT)
    print(
        f"machine: {machine['usable_cores']} usable cores ({machine['cpu_count']} CPUs), "
        f"Python {machine['python']}, numpy {machine['numpy']}, commit {machine['commit']}; "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    if machine["usable_cores"] < max(counts):
        print(
            f"note: {machine['usable_cores']} cores: more than {machine['usable_cores']} "
            "worker processes cannot run at once here"
        )
    heavy = qjobs.Sweep(
        heavy_template(args.qubits, args.layers), {"t": np.linspace(0, np.pi, args.points)}
    )
    pure = qjobs.Sweep(trivial_template(), {"t": np.linspace(0, np.pi, args.pure_points)})
    gates = len(heavy.template.instructions)
    runs: dict[str, list[Run]] = {"heavy": [], "pure": []}
    with (
        EmulatorProcess(latency_ms=0, queue_ms=0, exec_ms=0) as emu,
        postgres(args.ledger) as (new_db, postmaster),
    ):
        assert emu._proc is not None
        meters = Meters(emu._proc.pid, postmaster)
        print(
            f"CPU-heavy: {args.points} points, {args.qubits} qubits, {gates} instructions, "
            f"post-processing {KERNEL}x{KERNEL} per result, shards of {args.shard_size}"
        )
        for n in counts:
            with dask_cluster(n) as client:
                options = _options(emu.base_url, args.shard_size)
                runs["heavy"].append(
                    _measure(
                        f"dask {n} worker(s)", args.points, emu.base_url, meters, client,
                        functools.partial(_heavy_run, client, heavy, new_db, options), args.repeat,
                    )
                )  # fmt: skip
        print(f"pure submission: {args.pure_points} points, 1 qubit, shards of 100")
        runs["pure"].append(
            _measure(
                "one process (Sweep.run)", args.pure_points, emu.base_url, meters, None,
                lambda: anyio.run(_one_process, pure, emu.base_url), args.repeat,
            )
        )  # fmt: skip
        for n in counts:
            with dask_cluster(n) as client:
                options = _options(emu.base_url, 100)
                runs["pure"].append(
                    _measure(
                        f"run_on_dask {n} worker(s)", args.pure_points, emu.base_url, meters,
                        client, functools.partial(_pure_dask_run, client, pure, new_db, options),
                        args.repeat,
                    )
                )  # fmt: skip
    base = runs["heavy"][0].wall_s
    print("CPU-heavy speed-up over 1 worker: " + ", ".join(
        f"{r.workers} workers x{base / r.wall_s:.2f}" for r in runs["heavy"]
    ))  # fmt: skip
    one = runs["pure"][0].wall_s
    print("pure submission, workers' time over one process's: " + ", ".join(
        f"{r.workers} worker(s) x{r.wall_s / one:.2f}" for r in runs["pure"][1:]
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    # Dask pickles the task functions by reference: take them from the importable module.
    from benchmarks.scale_out import main as _main

    raise SystemExit(_main())
