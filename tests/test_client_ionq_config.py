"""IonQClient configuration: credentials and URL resolution, auth, secrecy, wire mapping units."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.providers.ionq import DEFAULT_BASE_URL, TOKEN_VARIABLES, IonQClient
from qjobs.providers.ionq.models import error_parser, job_from_wire
from qjobs.providers.ionq.results import resolve_url
from qjobs.transport import RateLimit, RetryPolicy

ALL_VARS = (*TOKEN_VARIABLES, "QISKIT_IONQ_API_URL", "IONQ_API_URL")
SECRET = "sekrit-ionq-token-8d3f2a"

BELL = Circuit(2, 0, (Instruction("h", (0,)), Instruction("cx", (0, 1))), name="bell")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _auth_header(client: IonQClient) -> str:
    return dict(client.transport._auth_headers)["Authorization"]


# ------------------------------------------------------------------- credential resolution
@pytest.mark.usefixtures("clean_env")
def test_missing_token_names_every_variable() -> None:
    with pytest.raises(qjobs.CredentialsError) as info:
        IonQClient()
    text = str(info.value)
    for name in TOKEN_VARIABLES:
        assert name in text
    assert ".env" in text


def test_token_lookup_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_TOKEN", "third")
    assert _auth_header(IonQClient()) == "apiKey third"
    monkeypatch.setenv("IONQ_API_KEY", "second")
    assert _auth_header(IonQClient()) == "apiKey second"
    monkeypatch.setenv("QISKIT_IONQ_API_TOKEN", "first")
    assert _auth_header(IonQClient()) == "apiKey first"
    # The environment's value wins over a .env entry for the same name...
    (clean_env / ".env").write_text("QISKIT_IONQ_API_TOKEN=from-dotenv\n")
    client = IonQClient()
    assert _auth_header(client) == "apiKey first"
    assert client.token_source == "env:QISKIT_IONQ_API_TOKEN"
    # ...a .env entry is used when the environment has none of the names...
    for name in TOKEN_VARIABLES:
        monkeypatch.delenv(name)
    client = IonQClient()
    assert _auth_header(client) == "apiKey from-dotenv"
    assert client.token_source == ".env:QISKIT_IONQ_API_TOKEN"
    # ...and the explicit argument wins over everything.
    assert _auth_header(IonQClient(token="explicit")) == "apiKey explicit"


def test_environment_beats_every_name_in_dotenv(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IONQ_API_TOKEN in the environment beats QISKIT_IONQ_API_TOKEN (a better-ranked name) in
    # .env: the environment as a whole comes first.
    (clean_env / ".env").write_text('QISKIT_IONQ_API_TOKEN="dot-first"\n')
    monkeypatch.setenv("IONQ_API_TOKEN", "env-third")
    assert _auth_header(IonQClient()) == "apiKey env-third"


def test_url_resolution(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert IonQClient(token="t").base_url == DEFAULT_BASE_URL
    monkeypatch.setenv("IONQ_API_URL", "http://127.0.0.1:9/v0.4")
    assert IonQClient(token="t").base_url == "http://127.0.0.1:9/v0.4"
    # A .env URL (even under a better-ranked name) does not override the environment's.
    (clean_env / ".env").write_text("QISKIT_IONQ_API_URL=http://127.0.0.1:8/v0.4/\n")
    assert IonQClient(token="t").base_url == "http://127.0.0.1:9/v0.4"
    monkeypatch.delenv("IONQ_API_URL")
    assert IonQClient(token="t").base_url == "http://127.0.0.1:8/v0.4"
    assert IonQClient(token="t", base_url="https://h:1/x/v0.4").base_url == "https://h:1/x/v0.4"
    with pytest.raises(qjobs.InputError):
        IonQClient(token="t", base_url="not a url")
    with pytest.raises(qjobs.InputError):
        IonQClient(token="")


@pytest.mark.anyio
async def test_dotenv_cannot_redirect_an_exported_token(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user exported key and URL; a .env in the working directory names another URL (under
    # the better-ranked name too) and another key. The exported pair is used, end to end.
    async with (
        qjobs.emulators.serve("ionq", tokens=["exported"]) as server,
        qjobs.emulators.serve("ionq") as elsewhere,
    ):
        monkeypatch.setenv("IONQ_API_KEY", "exported")
        monkeypatch.setenv("IONQ_API_URL", server.base_url)
        (clean_env / ".env").write_text(
            f"IONQ_API_KEY=from-dotenv\nIONQ_API_URL={elsewhere.base_url}\n"
            f"QISKIT_IONQ_API_URL={elsewhere.base_url}\n"
        )
        async with qjobs.connect("ionq") as client:
            assert isinstance(client, IonQClient)
            assert client.token_source == "env:IONQ_API_KEY"
            job = await client.submit(BELL, shots=10)
            assert (await client.wait(job)).status is JobStatus.COMPLETED
        assert server.stats.jobs_created == 1
        assert elsewhere.stats.total_requests == 0


# --------------------------------------------------------------------------- auth, secrecy
@pytest.mark.anyio
async def test_wrong_token_is_rejected_without_leaking(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with qjobs.emulators.serve("ionq", tokens=["good"]) as server:
        async with qjobs.connect(
            "ionq", token=SECRET, base_url=server.base_url, retry=RetryPolicy(max_attempts=2)
        ) as client:
            with pytest.raises(qjobs.AuthenticationError) as info:
                await client.submit(BELL, shots=10)
            assert info.value.status == 401
            assert server.stats.requests["POST /jobs"] == 1  # 401 is not retried
            texts = [str(info.value), repr(info.value), repr(client), repr(client.transport)]
            with pytest.raises(qjobs.AuthenticationError) as info2:
                await client.get_job("00000000-0000-0000-0000-000000000000")
            texts += [str(info2.value), repr(info2.value)]
        async with qjobs.connect("ionq", token="good", base_url=server.base_url) as client:
            res = await client.run(BELL, shots=10)
            assert res.counts == {"00": 5, "11": 5}
    for text in [*texts, caplog.text]:
        assert SECRET not in text


@pytest.mark.anyio
async def test_token_never_logged_through_a_faulty_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = [
        {"route": "GET /jobs/{id}", "status": 503, "count": 2},
        {"route": "POST /jobs", "kind": "drop_after", "count": 1},
    ]
    async with (
        qjobs.emulators.serve("ionq", faults=faults) as server,
        qjobs.connect(
            "ionq",
            token=SECRET,
            base_url=server.base_url,
            headers={"X-Team": "qjobs-tests"},
            user_agent="my-app/1.0",
            rate_limit=RateLimit(requests_per_second=None),
            retry=RetryPolicy(base_delay=0.001),
        ) as client,
    ):
        job = await client.submit(BELL, shots=10, key="leak-check")
        await client.wait(job)
        await client.results(job)
        assert server.stats.jobs_created == 1
        assert client.transport.stats.retries >= 2
        ua = client.transport._headers["User-Agent"]
        assert ua.startswith("qjobs/")
        assert "my-app/1.0" in ua
    assert "retrying" in caplog.text  # the retries were logged...
    assert SECRET not in caplog.text  # ...without the token


# ----------------------------------------------------------------------- wire mapping units
@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("submitted", JobStatus.QUEUED),
        ("ready", JobStatus.QUEUED),
        ("started", JobStatus.RUNNING),
        ("completed", JobStatus.COMPLETED),
        ("failed", JobStatus.FAILED),
        ("canceled", JobStatus.CANCELLED),
        ("teleported", JobStatus.UNKNOWN),
        ("", JobStatus.UNKNOWN),
    ],
)
def test_status_mapping(raw: str, status: JobStatus) -> None:
    job = job_from_wire({"id": "j1", "status": raw, "unexpected": {"x": 1}})
    assert job.status is status
    assert job.provider_status == raw


def test_job_mapping_is_lenient_and_complete() -> None:
    job = job_from_wire(
        {
            "id": "p",
            "status": "failed",
            "target": "qpu.aria-1",
            "children": ["c1", "c2"],
            "metadata": {"shots": "50", "n": 3},
            "request": 1700000000,
            "failure": {"code": "E42", "error": "it broke"},
            "submitted_at": "not a time",
        }
    )
    assert job.backend == "qpu.aria-1"
    assert job.child_ids == ("c1", "c2")
    assert job.circuit_count == 2
    assert job.shots == 50
    assert job.tags == {"shots": "50", "n": "3"}
    assert job.created_at is not None
    assert job.created_at.year == 2023
    assert job.failure is not None
    assert job.failure.code == "E42"
    assert job.failure.message == "it broke"
    with pytest.raises(qjobs.MalformedResponseError):
        job_from_wire({"status": "completed"})
    with pytest.raises(qjobs.MalformedResponseError):
        job_from_wire(["not", "an", "object"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"code": 404, "message": "nope"}', ("nope", None)),
        (
            b'{"statusCode": 404, "error": "Not Found", "message": "no job"}',
            ("no job", "Not Found"),
        ),
        (b'{"error": {"type": "NotFound", "message": "gone"}}', ("gone", "NotFound")),
        (b'{"error": "plain string"}', ("plain string", None)),
        (b"", ("No error details provided.", None)),
    ],
)
def test_error_parser_shapes(body: bytes, expected: tuple[str, str | None]) -> None:
    assert error_parser(404, body) == expected


def test_error_parser_tolerates_garbage() -> None:
    message, code = error_parser(502, b"<html>Bad gateway</html>")
    assert "Bad gateway" in message
    assert code is None


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        ("https://h:1/v0.4", "/v0.4/jobs/J/results", "https://h:1/v0.4/jobs/J/results"),
        ("https://h:1/ionq/v0.4", "/v0.4/jobs/J/results", "https://h:1/ionq/v0.4/jobs/J/results"),
        ("https://h:1/ionq/v0.4", "/ionq/v0.4/jobs/J", "https://h:1/ionq/v0.4/jobs/J"),
        ("https://h:1/v0.4", "jobs/J/results", "https://h:1/v0.4/jobs/J/results"),
        ("https://h:1/v0.4", "https://cdn.example/r", "https://cdn.example/r"),
        ("https://h:1/v0.4", "/other/path", "https://h:1/other/path"),
    ],
)
def test_result_url_resolution(base: str, url: str, expected: str) -> None:
    client = IonQClient(token="t", base_url=base)
    assert resolve_url(client.base_url, url) == expected


def test_capabilities_are_declared() -> None:
    caps = IonQClient.default_capabilities
    assert caps.submit_key
    assert caps.cancel_batch
    assert caps.status_batch_size == 100
    assert caps.max_circuits_per_job == 100
    client = IonQClient(token="t", capabilities=qjobs.Capabilities(status_batch_size=7))
    assert client.capabilities.status_batch_size == 7


def test_connect_returns_the_ionq_client(clean_env: Path) -> None:
    client: Any = qjobs.connect("ionq", token="t")
    assert isinstance(client, IonQClient)
    assert client.provider == "ionq"
    assert SECRET not in repr(client)
