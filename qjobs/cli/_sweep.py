"""The ``qjobs sweep FILE.toml`` command: run a parameter sweep described in a TOML file.

``--emulate`` starts an in-process emulator of the file's provider (shaped by its ``[emulator]``
table) and runs against it; otherwise credentials come from the provider's usual environment
variables and files. Progress goes to stdout (a rich bar on a TTY, plain lines otherwise), then a
summary table and the path of the ``.npz`` written (and of the image, with ``--plot``). Exit
status: 0 on success, 2 for a bad file or bad input, 1 when the run fails, 130 on Ctrl-C.

Errors are reported on one stderr line, never as a traceback: ``qjobs sweep: FILE: KEY=VALUE:
reason`` for bad input (:class:`~qjobs.InputError` naming the TOML key, :class:`~qjobs.LedgerError`,
missing credentials: exit 2) and ``qjobs sweep: failed: ErrorType: cause`` when the provider or a
job fails (exit 1).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from qjobs._core.errors import CredentialsError, InputError, LedgerError, QasmError, QJobsError
from qjobs.cli._progress import make_display, print_summary
from qjobs.cli._sweep_config import SweepSpec, load_spec
from qjobs.cli._sweep_dask import add_arguments as add_dask_arguments
from qjobs.cli._sweep_plot import check_plot_request, write_plot
from qjobs.cli._sweep_workers import add_arguments as add_worker_arguments
from qjobs.scheduler._groups import collapse
from qjobs.sweep import Sweep
from qjobs.sweep._result import SweepResult
from qjobs.transport import TransportStats

__all__ = ["add_parser", "run"]

_EMULATOR_TOKEN = "qjobs-emulator-token"


def add_parser(subparsers: Any) -> None:
    """Register the ``sweep`` subcommand on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep described in a TOML file",
        description=(
            "Run a parameter sweep described in a TOML file (format: docs/sweeps.md) and write "
            "the results to a .npz file."
        ),
    )
    parser.add_argument("file", type=Path, help="the sweep description (TOML)")
    parser.add_argument(
        "--emulate",
        action="store_true",
        help="run against an in-process emulator of the provider (its [emulator] table)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write the .npz (overrides 'out')"
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="IMAGE",
        help="also draw the result to this image (.png, .svg, .pdf...): a line over a 1-D grid, "
        "a heat map over a 2-D grid (needs qjobs[plot])",
    )
    parser.add_argument(
        "--plot-of",
        default=None,
        metavar="WHAT",
        help="what --plot draws: an expectation such as ZZII (Z and I, clbit 0 rightmost) or an "
        "outcome's probability such as 0101; default: the parity of all clbits, ZZ...Z",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress or summary; print only the path (and the plot's, with --plot)",
    )
    add_worker_arguments(parser)
    add_dask_arguments(parser)
    parser.set_defaults(func=run)


def _toml_field(field: str) -> str:
    """``params['theta']`` (the Sweep's field name) as the TOML key ``params.theta``."""
    if field.startswith("params[") and field.endswith("]"):
        return "params." + field[len("params[") : -1].strip("'\"")
    return field


def _make_sweep(spec: SweepSpec) -> Sweep:
    try:
        return Sweep(spec.source, spec.params, mode=spec.mode)
    except QasmError as exc:
        raise InputError(
            "template" if spec.template_name != "qasm" else "qasm", spec.template_name, str(exc)
        ) from None
    except InputError as exc:
        raise InputError(_toml_field(exc.field), exc.value, exc.reason) from None


def _client_options(spec: SweepSpec) -> dict[str, Any]:
    """Keyword arguments for :func:`qjobs.connect` from the file's ``[limits]`` and ``base_url``."""
    options: dict[str, Any] = {}
    if spec.base_url is not None:
        options["base_url"] = spec.base_url
    if spec.client_limits:
        from qjobs.providers import client_class
        from qjobs.transport import RateLimit

        caps = client_class(spec.provider).default_capabilities
        options["rate_limit"] = RateLimit(
            requests_per_second=spec.client_limits.get(
                "requests_per_second", caps.requests_per_second
            ),
            max_concurrent=spec.client_limits.get(
                "max_concurrent_requests", caps.max_concurrent_requests
            ),
        )
    return options


def _top_outcomes(probs: np.ndarray[Any, Any], num_clbits: int, k: int = 3) -> str:
    order = np.argsort(-probs, kind="stable")[:k]
    parts = [
        f"{format(int(i), f'0{num_clbits}b') if num_clbits else '-'}: {probs[i]:.3f}"
        for i in order
        if probs[i] > 0
    ]
    return ", ".join(parts) or "-"


def _summary(
    result: SweepResult, path: Path, elapsed: float, requests: int, jobs: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    points = result.size
    grid = (
        " x ".join(f"{name}[{len(axis)}]" for name, axis in result.axes.items())
        if result.mode == "product"
        else f"zip({', '.join(result.axes)})[{points}]"
    )
    rows = [
        ("points", f"{points} ({grid})"),
        ("shots", str(result.shots)),
        ("jobs", str(jobs)),
        ("time", f"{elapsed:.2f} s"),
        ("points/s", f"{points / elapsed:.1f}" if elapsed > 0 else "-"),
        ("requests", str(requests)),
        ("requests/circuit", f"{requests / points:.3f}"),
        ("results", str(path)),
    ]
    flat_probs = result.probabilities.reshape(points, -1)
    flat_params = {name: grid_.reshape(-1) for name, grid_ in result.params.items()}
    picks = sorted({0, points // 2, points - 1})
    samples = [
        (
            ", ".join(f"{name}={flat_params[name][i]:.4g}" for name in flat_params),
            _top_outcomes(flat_probs[i], result.num_clbits),
        )
        for i in picks
    ]
    return rows, samples


def _shown(path: Path) -> Path:
    """``path`` relative to the current directory when it lies below it, else absolute."""
    full = path.resolve()
    try:
        return full.relative_to(Path.cwd().resolve())
    except ValueError:
        return full


async def _run(args: argparse.Namespace) -> int:
    spec = load_spec(args.file)
    try:
        return await _run_spec(args, spec)
    except BaseExceptionGroup as group:  # the display's task group wraps the sweep's error
        raise _keyed(spec, collapse(group)) from None
    except InputError as exc:
        raise _keyed(spec, exc) from None


def _keyed(spec: SweepSpec, exc: BaseException) -> BaseException:
    """``exc`` naming the TOML key at fault: a job option ``noise`` is ``options.noise``."""
    if isinstance(exc, InputError) and exc.field in spec.job_options:
        return InputError(f"options.{exc.field}", exc.value, exc.reason)
    return exc


async def _run_spec(args: argparse.Namespace, spec: SweepSpec) -> int:
    import qjobs

    out: Path = args.out if args.out is not None else spec.out
    sweep = _make_sweep(spec)
    plot = check_plot_request(args.plot, args.plot_of, sweep)
    quiet: bool = args.quiet
    scheduler_options: dict[str, Any] = {**spec.scheduler_limits, **spec.job_options}
    ledger = args.ledger if getattr(args, "ledger", None) is not None else spec.ledger
    campaign = isinstance(ledger, str) and ledger.startswith(("postgresql://", "postgres://"))
    if ledger is not None and not campaign:
        scheduler_options["ledger"] = ledger
    dask = None
    if getattr(args, "dask", None) is not None:
        from qjobs.cli._sweep_dask import parse_target

        dask = parse_target(args.dask, ledger)
    client_options = _client_options(spec)
    async with AsyncExitStack() as stack:
        server: Any = None
        if args.emulate:
            emu = spec.emulator
            server = await stack.enter_async_context(
                qjobs.emulators.serve(
                    spec.provider,
                    latency=emu.latency,
                    queue_time=emu.queue_time,
                    exec_time=emu.exec_time,
                    seed=emu.seed,
                    fail_rate=emu.fail_rate,
                    faults=list(emu.faults),
                )
            )
            client_options.update(token=_EMULATOR_TOKEN, base_url=server.base_url)
            if not quiet:
                print(f"emulating {spec.provider} at {server.base_url}", flush=True)
        if dask is not None:  # the Dask workers connect, each with a client of its own
            from qjobs.cli._sweep_dask import dask_client

            cluster = await stack.enter_async_context(dask_client(args.dask, dask))
            client = None
        else:
            client = await stack.enter_async_context(qjobs.connect(spec.provider, **client_options))
        if not quiet:
            print(
                f"sweep: {sweep.size} points of {spec.template_name} on {spec.provider}"
                f"{'/' + spec.backend if spec.backend else ''}, {spec.shots} shots",
                flush=True,
            )
        stats = TransportStats() if client is None else client.transport.stats
        requests0 = stats.total
        display = None if quiet else make_display(sweep.size, stats)
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            if display is not None:
                display.start()
                tg.start_soon(display.run)
            try:
                if dask is not None:
                    from qjobs.cli._sweep_dask import run_on_cluster

                    result = await run_on_cluster(
                        cluster,
                        sweep,
                        spec.provider,
                        str(ledger),
                        connect_options=client_options,
                        backend=spec.backend,
                        shots=spec.shots,
                        shard_size=args.shard_size,
                        lease=args.lease,
                        progress=None if display is None else display.update,
                        scheduler_options=scheduler_options,
                    )
                elif campaign:
                    assert client is not None
                    from qjobs.cli._sweep_workers import run_campaign

                    result = await run_campaign(
                        args,
                        sweep,
                        client,
                        str(ledger),
                        backend=spec.backend,
                        shots=spec.shots,
                        progress=None if display is None else display.update,
                        scheduler_options=scheduler_options,
                    )
                else:
                    assert client is not None
                    result = await sweep.run(
                        client,
                        backend=spec.backend,
                        shots=spec.shots,
                        progress=None if display is None else display.update,
                        **scheduler_options,
                    )
            finally:
                tg.cancel_scope.cancel()
                if display is not None:
                    display.close()
        elapsed = time.perf_counter() - started
        requests = (
            stats.total - requests0 if dask is None else int(result.metadata.get("requests", 0))
        )
        jobs = int(result.metadata.get("jobs", 0))
        result.metadata["emulated"] = server is not None
        result.metadata.update(source=str(args.file), requests=requests)
        if campaign:
            from qjobs.cli._sweep_workers import save_atomically

            path = save_atomically(result, out)
        else:
            path = result.save(out)
    path = _shown(path)
    picture = None if plot is None else _shown(write_plot(result, plot))
    if quiet:
        print(path)
        if picture is not None:
            print(picture)
    else:
        rows, samples = _summary(result, path, elapsed, requests, jobs)
        if picture is not None:
            rows.append(("plot", str(picture)))
        print_summary(rows, samples)
    return 0


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` and its notes on one line."""
    parts = [str(exc), *getattr(exc, "__notes__", ())]
    return " ".join(" ".join(parts).split())


class _Collector(logging.Handler):
    """Keeps qjobs' warning log lines (e.g. what was cancelled), each on one line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(" ".join(record.getMessage().split()))


@contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """Collect qjobs' warnings during the run instead of printing them as they come."""
    handler = _Collector()
    logger = logging.getLogger("qjobs")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def run(args: argparse.Namespace) -> int:
    """Run ``qjobs sweep`` with parsed ``args``; returns the exit status.

    Every error is one stderr line (qjobs' warnings, such as what was cancelled, appended).
    """
    with _collected_warnings() as warnings:
        code, message = _run_reporting(args)
    if message is not None:
        print(" ".join([message, *(f"({w})" for w in warnings)]), file=sys.stderr)
    else:
        for line in warnings:
            print(line, file=sys.stderr)
    return code


def _run_reporting(args: argparse.Namespace) -> tuple[int, str | None]:
    """The exit status, and the message on failure."""
    try:
        return anyio.run(_run, args), None
    except (InputError, LedgerError, CredentialsError) as exc:
        return 2, f"qjobs sweep: {args.file}: {_one_line(exc)}"
    except QJobsError as exc:
        return 1, f"qjobs sweep: failed: {type(exc).__name__}: {_one_line(exc)}"
    except OSError as exc:  # e.g. the .npz cannot be written
        return 1, f"qjobs sweep: failed: {_one_line(exc)}"
    except KeyboardInterrupt:
        return 130, "qjobs sweep: interrupted; unfinished jobs were cancelled"


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m qjobs.cli._sweep FILE.toml``)."""
    parser = argparse.ArgumentParser(prog="qjobs")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
