"""QPIClient configuration, input validation, error mapping, faults and retries, secrecy."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import qjobs
from qjobs import Circuit
from qjobs.emulators.qpi import STATE_KEY
from qjobs.emulators.qpi.state import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD
from qjobs.providers.qpi import TOKEN_VARIABLES, URL_VARIABLES, QPIClient
from qjobs.providers.qpi.models import error_parser, job_from_wire
from qjobs.transport import RateLimit, RetryPolicy

ALL_VARS = (*TOKEN_VARIABLES, *URL_VARIABLES)
SECRET = "qpi_" + "5e" * 32
BELL = Circuit.from_qasm(
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\n'
    "c = measure q;\n"
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _headers(client: QPIClient) -> dict[str, str]:
    return dict(client.transport._auth_headers)


def _fast(**extra: Any) -> dict[str, Any]:
    async def no_sleep(_seconds: float) -> None:
        return None

    return {
        "rate_limit": RateLimit(requests_per_second=None),
        "retry": RetryPolicy(max_attempts=4, base_delay=0.0),
        "transport_options": {"sleep": no_sleep},
        **extra,
    }


# ------------------------------------------------------------------- credential resolution
@pytest.mark.usefixtures("clean_env")
def test_missing_base_url_names_every_variable() -> None:
    with pytest.raises(qjobs.CredentialsError) as info:
        QPIClient(token="t")
    for name in URL_VARIABLES:
        assert name in str(info.value)


def test_token_and_url_from_env_dotenv_and_arguments(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QPI_URL", "http://127.0.0.1:9")
    client = QPIClient()
    assert client.base_url == "http://127.0.0.1:9"
    assert _headers(client) == {}  # no token: no auth header, as qpi-client
    assert client.token_source == "unset"
    monkeypatch.setenv("QPI_API_TOKEN", "from-env")
    monkeypatch.setenv("QPI_BASE_URL", "http://127.0.0.1:8/")
    client = QPIClient()
    assert _headers(client) == {"X-API-Token": "from-env"}
    assert client.base_url == "http://127.0.0.1:8"
    # .env never overrides the environment ...
    (clean_env / ".env").write_text("QPI_API_TOKEN=from-dotenv\nQPI_BASE_URL=https://h:7\n")
    client = QPIClient()
    assert _headers(client) == {"X-API-Token": "from-env"}
    assert client.base_url == "http://127.0.0.1:8"
    # ... it fills in what the environment does not set.
    for name in ("QPI_API_TOKEN", "QPI_BASE_URL", "QPI_URL"):
        monkeypatch.delenv(name)
    client = QPIClient()
    assert _headers(client) == {"X-API-Token": "from-dotenv"}
    assert client.token_source == ".env:QPI_API_TOKEN"
    assert client.base_url == "https://h:7"
    explicit = QPIClient(token="explicit", base_url="https://h:6")
    assert _headers(explicit) == {"X-API-Token": "explicit"}
    with pytest.raises(qjobs.InputError):
        QPIClient(token="", base_url="https://h:6")
    with pytest.raises(qjobs.InputError):
        QPIClient(token="t", base_url="not a url")


# ------------------------------------------------------------- bad input, zero requests
@pytest.mark.anyio
async def test_bad_input_is_rejected_before_any_request() -> None:
    async with (
        qjobs.emulators.serve("qpi") as server,
        qjobs.connect("qpi", token="t", base_url=server.base_url, **_fast()) as c,
    ):
        assert isinstance(c, QPIClient)
        param = Circuit.from_qasm(
            "OPENQASM 3.0;\ninput float[64] a;\nqubit[1] q;\nbit[1] r;\nrx(a) q[0];\n"
            "r[0] = measure q[0];\n"
        )
        bad_calls: list[tuple[str, Any]] = [
            ("shots", c.submit(BELL, shots=0)),
            ("shots", c.submit(BELL, shots=True)),
            ("meas_level", c.submit(BELL, shots=1, meas_level=0)),
            ("meas_return", c.submit(BELL, shots=1, meas_return="mean")),
            ("key", c.submit(BELL, shots=1, key="a\nb")),
            ("circuits", c.submit([], shots=1)),
            ("circuits", c.submit("OPENQASM", shots=1)),
            ("parameter_values", c.submit(param, shots=1)),
            ("parameter_values[0]", c.submit(param, shots=1, parameter_values=[[1, 2]])),
            ("parameter_values[0]", c.submit(param, shots=1, parameter_values=[{"b": 1}])),
            (
                "parameter_values[0]",
                c.submit(param, shots=1, parameter_values=[[float("nan")]]),
            ),
            ("parameter_values", c.submit(BELL, shots=1, parameter_values=[[1.0]])),
            ("backend", c.submit(BELL, shots=1, backend="a/b")),
            ("colour", c.submit(BELL, shots=1, colour="red")),
            ("job_id", c.get_job("../x")),
            ("job", c.cancel("")),
        ]
        for field, call in bad_calls:
            with pytest.raises(qjobs.InputError) as info:
                await call
            assert info.value.field == field, field
        await c.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, superuser=True)
        before = server.stats.total_requests
        slot_calls: list[tuple[str, Any]] = [
            ("start", c.create_time_slot("2030-01-01 10:00", "2030-01-01T11:00:00Z")),
            ("start", c.create_time_slot("2030-01-01T10:00:00", "2030-01-01T11:00:00Z")),
            ("end", c.create_time_slot("2030-01-01T10:00:00Z", "2030-01-01T09:00:00Z")),
            ("end", c.create_time_slot("2030-01-01T10:00:00Z", "2030-02-30T09:00:00Z")),
            ("seconds", c.allocate_qpu_time("u", -1)),
            ("num_qubits", c.create_qpu("x", num_qubits=0)),
            ("enabled", c.set_qpu_enabled("x", "yes")),  # type: ignore[arg-type]
            ("expires_at", c.create_api_token(expires_at="tomorrow")),
            ("start", c.update_time_slot("s1")),
        ]
        for field, call in slot_calls:
            with pytest.raises(qjobs.InputError) as info:
                await call
            assert info.value.field == field, field
        assert server.stats.total_requests == before
        assert server.stats.jobs_created == 0
        assert server.stats.requests.get("POST /api/jobs", 0) == 0


# ------------------------------------------------------------------------ error mapping
@pytest.mark.anyio
async def test_each_error_status_maps_onto_the_qjobs_tree() -> None:
    async with qjobs.emulators.serve("qpi", tokens=["good"]) as server:
        url = server.base_url
        async with qjobs.connect("qpi", token="bad", base_url=url, **_fast()) as c:
            with pytest.raises(qjobs.AuthenticationError) as auth:
                await c.get_job("x")
            assert auth.value.status == 401
            assert auth.value.message == "Authentication required."
        async with qjobs.connect("qpi", token="good", base_url=url, **_fast()) as c:
            assert isinstance(c, QPIClient)
            with pytest.raises(qjobs.NotFoundError, match=r"Job not found\."):
                await c.get_job("nope")
            with pytest.raises(qjobs.ForbiddenError, match=r"Admin access required\."):
                await c.transport.request("POST", "api/op/qpus/create", json={"name": "x"})
            with pytest.raises(qjobs.ValidationError, match=r"Invalid request body\."):
                await c.transport.request("POST", "api/jobs", json={"circuits": []})
            server.app[STATE_KEY].default_user.qpu_seconds = 0
            with pytest.raises(qjobs.ForbiddenError, match=r"Insufficient QPU seconds balance\."):
                await c.submit(BELL, shots=10)
            server.set_faults(
                [{"route": "GET /api/qpus/{name}", "kind": "status", "status": 502, "count": 10}]
            )
            with pytest.raises(qjobs.ServerError) as server_error:
                await c.backend("qpi")
            assert server_error.value.status == 502
            server.clear_faults()
            server.set_faults(
                [
                    {
                        "route": "GET /api/qpus",
                        "kind": "status",
                        "status": 429,
                        "retry_after": 0,
                        "count": 10,
                    }
                ]
            )
            with pytest.raises(qjobs.RateLimitedError):
                await c.backends()


def test_error_parser_reads_pocketbase_bodies() -> None:
    body = (
        b'{"data": {"start_time": {"code": "validation_invalid_datetime", '
        b'"message": "Must be a valid datetime."}}, "message": "Failed to create record.", '
        b'"status": 400}'
    )
    message, code = error_parser(400, body)
    assert message == "Failed to create record. start_time: Must be a valid datetime."
    assert code == "validation_invalid_datetime"
    assert error_parser(404, b'{"data":{},"message":"Job not found.","status":404}') == (
        "Job not found.",
        None,
    )
    assert error_parser(502, b"") == ("No error details provided.", None)
    assert error_parser(500, b"<html>oops</html>")[0] == "<html>oops</html>"


def test_job_mapping_is_lenient() -> None:
    job = job_from_wire({"id": "j1", "status": "exploded", "extra": 1})
    assert job.status is qjobs.JobStatus.UNKNOWN
    assert job.provider_status == "exploded"
    old = job_from_wire({"job_id": "j2", "status": "queued"})
    assert old.id == "j2"
    assert old.status is qjobs.JobStatus.QUEUED
    with pytest.raises(qjobs.MalformedResponseError):
        job_from_wire({"status": "pending"})


@pytest.mark.anyio
async def test_payload_copied_into_results_is_reported_as_malformed() -> None:
    # qpi-ui v0.1.x copies the payload into "results"; qjobs says so instead of empty counts.
    from qjobs.providers.qpi.results import entries_of

    with pytest.raises(qjobs.MalformedResponseError, match="payload"):
        entries_of({"circuits": [{"circuit": "OPENQASM 3.0;"}], "shots": 10})
    with pytest.raises(qjobs.MalformedResponseError):
        entries_of(None)


# --------------------------------------------------------------- faults and retries
@pytest.mark.anyio
async def test_reads_retry_and_submit_is_never_blindly_resubmitted() -> None:
    async with (
        qjobs.emulators.serve("qpi", seed=5) as server,
        qjobs.connect("qpi", token="t", base_url=server.base_url, **_fast()) as c,
    ):
        assert isinstance(c, QPIClient)
        job = await c.submit(BELL, shots=10)
        server.set_faults(
            [{"route": "GET /api/jobs/{id}", "kind": "status", "status": 503, "count": 2}]
        )
        assert (await c.get_job(job.id)).id == job.id
        assert server.stats.requests["GET /api/jobs/{id}"] == 3
        assert c.transport.stats.retries == 2
        # Without a key, an ambiguous submit raises and creates at most one job.
        server.set_faults([{"route": "POST /api/jobs", "kind": "drop_after", "count": 1}])
        created = server.stats.jobs_created
        with pytest.raises(qjobs.SubmitUncertainError):
            await c.submit(BELL, shots=10)
        assert server.stats.jobs_created == created + 1
        assert server.stats.requests["POST /api/jobs"] == 2
        # With a key, the job the dropped answer created is found instead of a second one.
        server.set_faults([{"route": "POST /api/jobs", "kind": "drop_after", "count": 1}])
        found = await c.submit(BELL, shots=10, key="qj-retry-1")
        assert server.stats.jobs_created == created + 2
        assert server.stats.requests["POST /api/jobs"] == 3
        assert (await c.find_by_key("qj-retry-1")) is not None
        assert found.id == (await c.find_by_key("qj-retry-1")).id  # type: ignore[union-attr]
        # A 503 with Retry-After on submit: the server did nothing, so it is retried.
        server.set_faults(
            [
                {
                    "route": "POST /api/jobs",
                    "kind": "status",
                    "status": 503,
                    "retry_after": 0,
                    "count": 1,
                }
            ]
        )
        await c.submit(BELL, shots=10)
        assert server.stats.jobs_created == created + 3
        assert server.stats.requests["POST /api/jobs"] == 5


# --------------------------------------------------------------------------- secrecy
@pytest.mark.anyio
async def test_secrets_never_reach_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        qjobs.emulators.serve("qpi", tokens=[SECRET]) as server,
        qjobs.connect("qpi", token=SECRET, base_url=server.base_url, **_fast()) as c,
    ):
        assert isinstance(c, QPIClient)
        await c.submit(BELL, shots=10)
        user = await c.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, superuser=True)
        jwt = c.transport._auth_headers["Authorization"].removeprefix("Bearer ")
        created = await c.create_qpu("secret-lab")
        token = created.access_token
        assert token is not None
        conn = await c.connect_qpu("secret-lab", token)
        errors: list[str] = []
        for call in (c.get_job("nope"), c.connect_qpu("secret-lab", token + "x")):
            try:
                await call
            except qjobs.QJobsError as exc:
                errors.append(str(exc) + repr(exc))
        texts = [
            caplog.text,
            repr(c),
            repr(c.transport),
            repr(created),
            repr(conn),
            repr(user),
            *errors,
        ]
        for secret in (SECRET, jwt, token, DEFAULT_ADMIN_PASSWORD, conn.auth_token or "x" * 9):
            for text in texts:
                assert secret not in text
