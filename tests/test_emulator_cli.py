"""``qjobs emulate --host``: a non-loopback address needs ``--token`` (or ``--insecure``).

No test here opens a socket on a non-loopback address: the server start
(``qjobs.cli._main._emulate``) is replaced by a recorder, so the tests see exactly which invocations
would have started one.
"""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from qjobs.cli import _main as cli
from qjobs.cli import main


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """The arguments of every server start (none is really started)."""
    calls: list[argparse.Namespace] = []

    async def record(args: argparse.Namespace, chosen: list[str]) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(cli, "_emulate", record)
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "emulator.example.org"])
def test_open_non_loopback_host_is_refused(
    host: str, started: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulate", "ionq", "--host", host]) == 2
    assert started == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line
    assert err.startswith(f"qjobs emulate: --host {host} is not a loopback address")
    assert "--token" in err
    assert "--insecure" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "0.0.0.0", "--token", "s3cret"],
        ["--host", "0.0.0.0", "--token", "a", "--token", "b"],
        ["--host", "0.0.0.0", "--insecure"],
        ["--host", "127.0.0.1"],
        ["--host", "127.0.0.2"],
        ["--host", "::1"],
        ["--host", "[::1]"],
        ["--host", "localhost"],
        [],
    ],
)
def test_loopback_or_token_or_insecure_starts(argv: list[str], started: list[Any]) -> None:
    assert main(["emulate", "ionq", *argv]) == 0
    assert len(started) == 1
    assert started[0].host == (argv[1] if argv else "127.0.0.1")


def test_refusal_covers_every_emulator_and_prints_no_url(
    started: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulate", "--host", "10.0.0.1"]) == 2  # every emulator, same rule
    assert started == []
    assert capsys.readouterr().out == ""
