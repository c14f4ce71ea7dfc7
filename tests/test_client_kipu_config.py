"""KipuClient configuration: credentials from each source, errors by status, secrets, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import qjobs
from qjobs import Circuit, Expr, InputError, Instruction
from qjobs.emulators import Server
from qjobs.providers.kipu import KipuClient, config
from qjobs.transport import RateLimit, RetryPolicy

pytestmark = pytest.mark.anyio

SECRET = "kqh-personal-token-0123456789"
BELL = Circuit.from_qasm(
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
    "measure q -> c;\n",
    name="bell",
)
ALL_VARS = (
    *config.TOKEN_VARIABLES,
    *config.ORGANIZATION_VARIABLES,
    *config.URL_VARIABLES,
    *config.CONFIG_PATH_VARIABLES,
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Kipu variables, and a temporary HOME without config files."""
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def write_config(path: Path, token: str | None, org: str | None, is_org: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if token is not None:
        data["auth"] = {"type": "APIKEY", "value": token}
    if org is not None:
        data["context"] = {"id": org, "displayName": "Org", "isOrganization": is_org}
    path.write_text(json.dumps(data), encoding="utf-8")


# ------------------------------------------------------------------------------ credentials
@pytest.mark.parametrize("variable", config.TOKEN_VARIABLES)
def test_token_from_each_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, SECRET)
    client = KipuClient()
    assert client.token_source == f"env:{variable}"
    assert client.base_url == config.DEFAULT_BASE_URL
    assert client.organization_id is None


def test_token_order_service_execution_first(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in config.TOKEN_VARIABLES:
        monkeypatch.setenv(name, f"value-of-{name}")
    assert KipuClient().token_source == "env:KQH_SERVICE_EXECUTION_TOKEN"
    assert KipuClient(token="explicit").token_source == "argument"


def test_qhubctl_config_file_token_and_organization(clean_env: Path) -> None:
    write_config(clean_env / ".config" / "qhubctl" / "config.json", SECRET, "org-42")
    client = KipuClient()
    assert client.token_source.startswith("file:")
    assert "qhubctl" in client.token_source
    assert client.organization_id == "org-42"
    assert client.organization_source.startswith("file:")


def test_config_context_used_only_for_organizations(clean_env: Path) -> None:
    write_config(clean_env / ".config" / "qhubctl" / "config.json", SECRET, "user-1", is_org=False)
    assert KipuClient().organization_id is None


def test_legacy_planqk_config_file(clean_env: Path) -> None:
    write_config(clean_env / ".config" / "planqk" / "config.json", SECRET, None)
    assert "planqk" in KipuClient().token_source


def test_config_path_variables(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    custom = tmp_path / "elsewhere.json"
    write_config(custom, SECRET, "org-x")
    monkeypatch.setenv("PLANQK_CONFIG_FILE_PATH", str(custom))
    assert KipuClient().organization_id == "org-x"
    other = tmp_path / "kqh.json"
    write_config(other, SECRET, "org-y")
    monkeypatch.setenv("KQH_CONFIG_FILE_PATH", str(other))
    assert KipuClient().organization_id == "org-y"


def test_organization_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(clean_env / ".config" / "qhubctl" / "config.json", SECRET, "from-file")
    monkeypatch.setenv("PLANQK_ORGANIZATION_ID", "legacy")
    assert KipuClient().organization_id == "legacy"
    monkeypatch.setenv("KQH_ORGANIZATION_ID", "kqh")
    assert KipuClient().organization_id == "kqh"
    assert KipuClient(organization_id="arg").organization_id == "arg"


def test_base_url_variables(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANQK_QUANTUM_BASE_URL", "http://127.0.0.1:1/legacy")
    assert KipuClient(token="t").base_url == "http://127.0.0.1:1/legacy"
    monkeypatch.setenv("QHUB_QUANTUM_BASE_URL", "http://127.0.0.1:1/quantum/")
    assert KipuClient(token="t").base_url == "http://127.0.0.1:1/quantum"


def test_missing_credentials_name_every_place(clean_env: Path) -> None:
    with pytest.raises(qjobs.CredentialsError) as info:
        KipuClient()
    text = str(info.value)
    for name in config.TOKEN_VARIABLES:
        assert name in text
    assert "qhubctl" in text


def test_broken_config_file_is_named_not_shown(clean_env: Path) -> None:
    path = clean_env / ".config" / "qhubctl" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"auth": {"value": "' + SECRET, encoding="utf-8")
    with pytest.raises(qjobs.CredentialsError) as info:
        KipuClient()
    assert str(path) in str(info.value)
    assert SECRET not in str(info.value)
    assert KipuClient(token="t").organization_id is None  # not needed for the token: ignored


# ---------------------------------------------------------------- headers, secrets, errors
async def test_headers_sent_and_secret_never_shown(
    clean_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with qjobs.emulators.serve("kipu", tokens=[SECRET]) as server:
        client = KipuClient(token=SECRET, organization_id="org-1", base_url=server.base_url)
        async with client:
            job = await client.submit(BELL, shots=1)  # X-Auth-Token accepted
            wrong = KipuClient(token="wrong-token", base_url=server.base_url)
            async with wrong:
                with pytest.raises(qjobs.AuthenticationError) as info:
                    await wrong.jobs.get(job.id)
                # X-OrganizationId scopes the job: the same token without it is refused.
                async with KipuClient(token=SECRET, base_url=server.base_url) as mine:
                    with pytest.raises(qjobs.ForbiddenError):
                        await mine.jobs.get(job.id)
        assert SECRET not in repr(client)
        assert SECRET not in repr(client.transport)
        assert info.value.status == 401
        assert "wrong-token" not in str(info.value)
        assert SECRET not in caplog.text
        assert SECRET not in str(job)
        assert SECRET not in repr(job)


async def test_error_statuses_map_onto_the_tree(clean_env: Path) -> None:
    async with qjobs.emulators.serve("kipu") as server:
        client = KipuClient(
            token="t",
            base_url=server.base_url,
            retry=RetryPolicy(max_attempts=1),
            rate_limit=RateLimit(requests_per_second=None),
        )
        async with client:
            start = await client.backends.calibration("ibm.qpu.fez")
            assert start is not None
            with pytest.raises(qjobs.ValidationError) as e400:
                await client.backends.least_busy("AWS")
            with pytest.raises(qjobs.NotFoundError) as e404:
                await client.jobs.get("missing")
        cases: list[tuple[int, type[qjobs.APIError]]] = [
            (403, qjobs.ForbiddenError),
            (422, qjobs.ValidationError),
            (500, qjobs.ServerError),
            (502, qjobs.ServerError),
        ]
        for status, cls in cases:
            server.set_faults([{"route": "GET /runtime-minutes", "status": status, "count": 1}])
            async with KipuClient(
                token="t", base_url=server.base_url, retry=RetryPolicy(max_attempts=1)
            ) as c:
                with pytest.raises(cls) as info:
                    await c.runtime_minutes.get()
            assert info.value.status == status
            assert info.value.provider == "kipu"
            assert info.value.path == "/runtime-minutes"
            assert info.value.message == f"injected fault: HTTP {status}"
    assert e400.value.status == 400
    assert e400.value.code == "Bad Request"
    assert e404.value.message == "Job missing not found"
    assert e404.value.method == "GET"


# ------------------------------------------------------------- bad input, zero requests
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shots": 0}, "shots"),
        ({"shots": 1.5}, "shots"),
        ({"shots": 100_001}, "shots"),
        ({"shots": 10, "backend": "a/b"}, "backend"),
        ({"shots": 10, "backend": "iqm.qpu.garnet"}, "backend"),
        ({"shots": 10, "key": ""}, "key"),
        ({"shots": 10, "tags": "red"}, "tags"),
        ({"shots": 10, "session_id": "s?x"}, "session_id"),
        ({"shots": 10, "input_params": {"x": object()}}, "input_params"),
        ({"shots": 10, "frobnicate": True}, "frobnicate"),
    ],
)
async def test_bad_submit_arguments_make_no_request(kwargs: dict[str, Any], field: str) -> None:
    async with (
        qjobs.emulators.serve("kipu") as server,
        KipuClient(token="t", base_url=server.base_url) as client,
    ):
        if field == "shots" and kwargs["shots"] == 100_001:
            await client.submit(BELL, shots=1)  # fetches the catalogue, whose range rejects it
            client.transport.stats.reset()
            server.stats.reset()
        with pytest.raises(InputError) as info:
            await client.submit(BELL, **kwargs)
        assert info.value.field == field
        await _no_requests(client, server)


async def _no_requests(client: KipuClient, server: Server) -> None:
    assert client.transport.stats.total == 0
    assert server.stats.total_requests == 0


async def test_bad_namespace_arguments_make_no_request() -> None:
    theta = Expr.sym("theta")
    unbound = Circuit(1, 0, (Instruction("rx", (0,), (theta,)),))
    mid = Circuit(1, 1, (Instruction("measure", (0,), (), (0,)), Instruction("x", (0,))))
    async with (
        qjobs.emulators.serve("kipu") as server,
        KipuClient(token="t", base_url=server.base_url) as client,
    ):
        calls: list[tuple[Any, str]] = [
            (client.jobs.create("kipu.sim.qsim", shots=1, input=unbound), "circuit.parameters"),
            (client.jobs.create("azure.ionq.simulator", shots=1, input=mid), "circuit"),
            (client.jobs.create("kipu.sim.qsim", shots=1, input=[BELL, BELL]), "circuits"),
            (client.jobs.create("aws.sim.sv1", shots=1, input=3), "input"),  # type: ignore[arg-type]
            (
                client.jobs.create("aws.sim.sv1", shots=1, input="q", input_format="X"),
                "input_format",
            ),
            (
                client.jobs.create("aws.sim.sv1", shots=1, input="q", sdk_provider="ME"),
                "sdk_provider",
            ),
            (client.jobs.create("aws.sim.sv1", shots=1, input="q", qasm={"a": 1}), "qasm"),
            (client.jobs.get(""), "job"),
            (client.jobs.stream_result("j", 42), "destination"),  # type: ignore[arg-type]
            (client.jobs.stream_result("j", "/tmp/x", chunk_size=0), "chunk_size"),
            (client.sessions.create("ibm.qpu.fez", mode="exclusive"), "mode"),
            (client.sessions.create("ibm.qpu.fez", ttl=0), "ttl"),
            (client.backends.least_busy("IBM", min_qubits=0), "min_qubits"),
            (client.backends.calibration("x", effective_at="today"), "effective_at"),  # type: ignore[arg-type]
            (client.backends.status("a/b"), "backend_id"),
            (client.find_by_key(""), "key"),
        ]
        for coro, field in calls:
            with pytest.raises(InputError) as info:
                await coro
            assert info.value.field == field, info.value
        iterators: list[tuple[Any, str]] = [
            (client.workloads.search(type="TASK"), "type"),
            (client.workloads.search(origin=["X"]), "origin"),
            (client.workloads.search(size=0), "size"),
            (client.jobs.search(sort="name,sideways"), "sort[0]"),
            (client.jobs.search(page=-1), "page"),
            (client.jobs.search(max_pages=0), "max_pages"),
        ]
        for it, field in iterators:
            with pytest.raises(InputError) as info:
                await anext(it)
            assert info.value.field == field
        await _no_requests(client, server)
