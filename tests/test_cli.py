"""The ``qjobs`` command: ``qjobs emulate`` in a real subprocess, and argument handling."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from qjobs.cli import build_parser, main
from qjobs.emulators import names


def _start(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "qjobs", "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the emulator printed nothing"
    return proc.stdout.readline().strip()


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _request(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"apiKey {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_emulate_ionq_serves_until_sigint(procs: list[subprocess.Popen[str]]) -> None:
    proc = _start("ionq", "--port", "0", "--token", "t1", "--token", "t2", "--seed", "3")
    procs.append(proc)
    name, base_url = _line(proc).split()
    assert name == "ionq"
    assert base_url.startswith("http://127.0.0.1:")
    assert base_url.endswith("/v0.4")
    status, backend = _request(f"{base_url}/backends/simulator")
    assert status == 200
    assert backend["qubits"] == 29
    job = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 10,
        "input": {"gateset": "qis", "qubits": 2, "circuit": [{"gate": "x", "targets": [1]}]},
    }
    assert _request(f"{base_url}/jobs", job, token="nope")[0] == 401
    status, created = _request(f"{base_url}/jobs", job, token="t2")
    assert status == 201
    status, probs = _request(f"{base_url}/jobs/{created['id']}/results/probabilities", token="t1")
    assert probs == {"2": 1.0}
    root = base_url.removesuffix("/v0.4")
    status, stats = _request(f"{root}/_qjobs/stats")
    assert stats["jobs_created"] == 1
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_emulate_all_and_sigterm(procs: list[subprocess.Popen[str]]) -> None:
    proc = _start("--queue-ms", "10", "--exec-ms", "10", "--latency-ms", "1")
    procs.append(proc)
    lines = [_line(proc) for _ in names()]
    assert [line.split()[0] for line in lines] == names()
    for line in lines:
        assert line.split()[1].startswith("http://127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_emulate_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "nowhere"]) == 2
    assert "unknown emulator" in capsys.readouterr().err
    assert main(["emulate", "ionq", "--latency-ms", "-1"]) == 2
    assert main(["emulate", "ionq", "--fail-rate", "2"]) == 2
    assert main(["emulate", "ionq", "--port", "70000"]) == 2
    assert main([]) == 2
    assert "emulate" in capsys.readouterr().out


def test_parser_has_room_for_more_commands() -> None:
    parser = build_parser()
    args = parser.parse_args(["emulate", "ionq", "--port", "8080", "--queue-ms", "5"])
    assert args.names == ["ionq"]
    assert args.port == 8080
    assert args.queue_ms == 5.0
    assert args.token is None
    assert callable(args.func)
    sweep = parser.parse_args(["sweep", "x.toml"])
    assert sweep.command == "sweep"
