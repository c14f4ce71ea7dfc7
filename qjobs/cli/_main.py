"""The ``qjobs`` command.

Subcommands:

``qjobs emulate [NAME ...]``
    Serve provider emulators until SIGINT/SIGTERM. One name: that emulator at the server root
    (official SDKs that need root paths work). No name (every registered one) or several: one
    server, one port, each emulator under ``/<name>``. The first lines printed are
    ``<name> <base-url>``, one per emulator, flushed at once.
``qjobs sweep FILE.toml``
    Run a parameter sweep described in a TOML file (see :mod:`qjobs.cli._sweep`).
``qjobs jobs list|status|cancel|results``
    A provider's jobs, or a ledger's (see :mod:`qjobs.cli._jobs`).
``qjobs ledger show|verify FILE``
    What a scheduler's ledger holds, and whether it is sound (see :mod:`qjobs.cli._ledger`).
``qjobs --version``
    Print ``qjobs X.Y.Z``.

Each subcommand module contributes ``add_parser(subparsers)`` and sets ``func`` (args -> exit
code) as its default.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import math
import signal
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

__all__ = ["build_parser", "main"]


def _add_emulate(subparsers: Any) -> None:
    from qjobs.emulators import names

    parser = subparsers.add_parser(
        "emulate",
        help="serve local emulators of the providers' REST APIs",
        description=(
            "Serve provider emulators on 127.0.0.1 until interrupted. One NAME is served at the "
            "server root; no NAME (all) or several share one port, each under /<name>. Prints "
            "'<name> <base-url>' for each emulator first. Reserved routes, under each emulator's "
            "root: GET /_qjobs/stats, POST and DELETE /_qjobs/faults."
        ),
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"emulators to serve (default: all of {', '.join(names())})",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; one other than loopback needs --token (or --insecure)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to listen on (0: a free port)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer")
    parser.add_argument("--queue-ms", type=float, default=0.0, help="time each job queues")
    parser.add_argument("--exec-ms", type=float, default=0.0, help="time each job executes")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument(
        "--fail-rate", type=float, default=0.0, help="share of jobs that end failed (0..1)"
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="RPS",
        help="requests per second each token may make (a token bucket; 429 beyond; default: none)",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=None,
        metavar="N",
        help="requests a token may make at once (with --rate-limit; default: ceil(RPS), >= 1)",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=None,
        metavar="TOKEN",
        help="accepted credential (repeatable); default: any non-empty token",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve a non-loopback --host without --token (anyone who reaches it gets in)",
    )
    parser.set_defaults(func=_run_emulate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from qjobs._core.version import __version__
    from qjobs.cli import _jobs, _ledger
    from qjobs.cli import _sweep as _cli_sweep
    from qjobs.cli._reporting import OneLineParser

    parser = OneLineParser(
        prog="qjobs", description="Run quantum jobs on cloud providers and their emulators."
    )
    parser.add_argument("--version", action="version", version=f"qjobs {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_emulate(subparsers)
    _cli_sweep.add_parser(subparsers)
    _jobs.add_parser(subparsers)
    _ledger.add_parser(subparsers)
    return parser


def _run_emulate(args: argparse.Namespace) -> int:
    from qjobs.emulators import names

    chosen: list[str] = args.names or names()
    unknown = [n for n in chosen if n not in names()]
    if unknown:
        print(f"qjobs emulate: unknown emulator(s) {unknown}; known: {names()}", file=sys.stderr)
        return 2
    if len(set(chosen)) != len(chosen):
        print(f"qjobs emulate: an emulator is named twice in {chosen}", file=sys.stderr)
        return 2
    for flag in ("latency_ms", "queue_ms", "exec_ms"):
        if getattr(args, flag) < 0:
            print(f"qjobs emulate: --{flag.replace('_', '-')} must be >= 0", file=sys.stderr)
            return 2
    if not 0.0 <= args.fail_rate <= 1.0:
        print("qjobs emulate: --fail-rate must be between 0 and 1", file=sys.stderr)
        return 2
    problem = _rate_limit_problem(args.rate_limit, args.burst)
    if problem:
        print(f"qjobs emulate: {problem}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print("qjobs emulate: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    if not args.token and not args.insecure and not _is_loopback(args.host):
        print(
            f"qjobs emulate: --host {args.host} is not a loopback address and no --token is "
            "given, so anyone who can reach it would get in; give --token (repeatable), or "
            "--insecure to serve it open anyway",
            file=sys.stderr,
        )
        return 2
    try:
        return asyncio.run(_emulate(args, chosen))
    except OSError as exc:
        print(f"qjobs emulate: {exc}", file=sys.stderr)
        return 1


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to anything


def _rate_limit_problem(rate_limit: float | None, burst: int | None) -> str | None:
    """What is wrong with ``--rate-limit`` and ``--burst``, or None."""
    if rate_limit is not None and not (math.isfinite(rate_limit) and rate_limit > 0):
        return "--rate-limit must be a finite number > 0 (requests per second)"
    if burst is not None and burst < 1:
        return "--burst must be an integer >= 1"
    if burst is not None and rate_limit is None:
        return "--burst needs --rate-limit"
    return None


async def _emulate(args: argparse.Namespace, chosen: list[str]) -> int:
    from qjobs.emulators import Server, serve, serve_many

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "latency": args.latency_ms / 1000.0,
        "queue_time": args.queue_ms / 1000.0,
        "exec_time": args.exec_ms / 1000.0,
        "seed": args.seed,
        "tokens": args.token,
        "fail_rate": args.fail_rate,
        "rate_limit": args.rate_limit,
        "burst": args.burst,
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with AsyncExitStack() as stack:
            servers: dict[str, Server]
            if len(chosen) == 1:
                # One emulator keeps the server root: SDKs with fixed root paths work against it.
                one = await stack.enter_async_context(serve(chosen[0], **options))
                servers = {one.name: one}
            else:
                servers = await stack.enter_async_context(serve_many(chosen, **options))
            print("\n".join(f"{n} {s.base_url}" for n, s in servers.items()), flush=True)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qjobs`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    code: int = func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
