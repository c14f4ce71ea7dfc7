"""The ``qjobs`` command: ``qjobs emulate`` in a real subprocess, and argument handling."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
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


def _lines(proc: subprocess.Popen[str], count: int, timeout: float = 30.0) -> list[str]:
    """The first ``count`` lines the process prints (read from the pipe's file descriptor, so
    lines written together are not hidden in a reader's buffer from ``select``)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    while data.count(b"\n") < count:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"the emulator printed {data!r} only"
        chunk = os.read(fd, 65536)
        assert chunk, f"the emulator exited after printing {data!r}"
        data += chunk
    return [line.strip() for line in data.decode().splitlines()[:count]]


def _line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    return _lines(proc, 1, timeout)[0]


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
    results = f"{base_url}/jobs/{created['id']}/results/probabilities"
    assert _request(results, token="t1")[0] == 404  # the job is t2's
    status, probs = _request(results, token="t2")
    assert probs == {"2": 1.0}
    root = base_url.removesuffix("/v0.4")
    status, stats = _request(f"{root}/_qjobs/stats")
    assert stats["jobs_created"] == 1
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_emulate_all_on_one_port_until_sigint(procs: list[subprocess.Popen[str]]) -> None:
    proc = _start("--queue-ms", "10", "--exec-ms", "10", "--latency-ms", "1")
    procs.append(proc)
    lines = [line.split() for line in _lines(proc, len(names()))]
    assert [line[0] for line in lines] == names()
    urls = {name: urllib.parse.urlsplit(url) for name, url in lines}
    assert {u.netloc for u in urls.values()} == {urls["ionq"].netloc}  # one port for all
    assert urls["ionq"].netloc.startswith("127.0.0.1:")
    for name, url in urls.items():
        assert url.path.startswith(f"/{name}"), url
    assert urls["ionq"].path == "/ionq/v0.4"
    root = f"http://{urls['ionq'].netloc}"
    # Each emulator answers under its own prefix and keeps its own statistics.
    status, backend = _request(f"{root}/ionq/v0.4/backends/simulator")
    assert (status, backend["qubits"]) == (200, 29)
    status, stats = _request(f"{root}/ionq/_qjobs/stats")
    assert (status, stats["requests"]) == (200, {"GET /backends/{backend}": 1})
    status, stats = _request(f"{root}/kipu/_qjobs/stats")
    assert (status, stats["requests"]) == (200, {})
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_emulate_two_names_share_a_port_until_sigterm(procs: list[subprocess.Popen[str]]) -> None:
    proc = _start("qpi", "qbraid")
    procs.append(proc)
    lines = [line.split() for line in _lines(proc, 2)]
    assert [line[0] for line in lines] == ["qpi", "qbraid"]
    qpi, qbraid = (urllib.parse.urlsplit(line[1]) for line in lines)
    assert qpi.netloc == qbraid.netloc
    assert (qpi.path, qbraid.path) == ("/qpi", "/qbraid/api/v1")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_emulate_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "nowhere"]) == 2
    assert "unknown emulator" in capsys.readouterr().err
    assert main(["emulate", "ionq", "--latency-ms", "-1"]) == 2
    assert main(["emulate", "ionq", "--fail-rate", "2"]) == 2
    assert main(["emulate", "ionq", "--port", "70000"]) == 2
    assert main(["emulate", "ionq", "qpi", "ionq"]) == 2
    assert "twice" in capsys.readouterr().err
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
