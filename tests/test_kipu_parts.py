"""The shape of ``qjobs.providers.kipu`` (issue 10) and unit tests of its pure parts."""

from __future__ import annotations

import ast
import enum
import importlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from source_tree import defined_classes

import qjobs.providers.kipu as package
from qjobs import (
    Backend,
    Circuit,
    InputError,
    Instruction,
    Job,
    JobFailedError,
    JobStatus,
    MalformedResponseError,
)
from qjobs._core.config import Setting
from qjobs._core.error_bodies import default_error_parser
from qjobs.providers._base import ProviderClient
from qjobs.providers._checks import catalogue_entry, payload_size
from qjobs.providers.kipu import bodies, config, pages, resources, results
from qjobs.providers.kipu.models import (
    NormalizedResult,
    Pub,
    created_job,
    error_parser,
    job_from_wire,
    job_state_from_wire,
    session_jobs_from_wire,
)

FOLDER = Path(package.__file__).parent
PARTS = {
    "__init__",
    "client",
    "config",
    "models",
    "circuits",
    "bodies",
    "pages",
    "results",
    "resources",
}
PURE = ("bodies", "pages", "results", "circuits", "models", "config")
BELL = Circuit(2, 2, (Instruction("h", (0,)), Instruction("cx", (0, 1))))


def test_the_package_holds_exactly_the_parts() -> None:
    found = {p.stem for p in FOLDER.glob("*.py")}
    assert found == PARTS
    assert not [p for p in FOLDER.iterdir() if p.is_dir() and p.name != "__pycache__"]


def test_no_class_is_a_mixin() -> None:
    for stem in PARTS:
        module = importlib.import_module(f"qjobs.providers.kipu.{stem}")
        for cls in defined_classes(module):
            for base in cls.__mro__[1:]:
                if base is object:
                    continue
                assert issubclass(base, BaseException | enum.Enum) or base in (
                    ProviderClient.__mro__
                ), f"{cls.__qualname__} inherits {base.__qualname__}"
    assert package.KipuClient.__bases__ == (ProviderClient,)
    namespaces = [
        resources.BackendsAPI,
        resources.JobsAPI,
        resources.ServiceExecutionJobsAPI,
        resources.SessionsAPI,
        resources.ServiceExecutionSessionsAPI,
        resources.WorkloadsAPI,
        resources.ServiceExecutionWorkloadsAPI,
        resources.RuntimeMinutesAPI,
        resources.ServiceExecution,
        resources.KipuHTTP,
    ]
    assert all(cls.__bases__ == (object,) for cls in namespaces)


def test_service_execution_twins_lack_creation_and_memory() -> None:
    for name in ("create", "build_body", "post", "result", "normalized_memory", "search"):
        assert hasattr(resources.JobsAPI, name)
        assert not hasattr(resources.ServiceExecutionJobsAPI, name)
    for name in ("create", "open"):
        assert hasattr(resources.SessionsAPI, name)
        assert not hasattr(resources.ServiceExecutionSessionsAPI, name)
    shared = {"get", "status", "normalized_result", "stream_result", "input", "cancel"}
    assert shared <= set(dir(resources.ServiceExecutionJobsAPI))


@pytest.mark.parametrize("stem", PURE)
def test_pure_parts_import_neither_client_nor_transport(stem: str) -> None:
    tree = ast.parse((FOLDER / f"{stem}.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    bad = {
        name
        for name in imported
        if name.startswith(
            ("qjobs.transport", "qjobs.providers.kipu.client", "qjobs.providers.kipu.resources")
        )
        or name in ("aiohttp", "anyio")
    }
    assert not bad, f"{stem} imports {sorted(bad)}"


def test_public_names_are_unchanged() -> None:
    assert sorted(package.__all__) == sorted(
        [
            "DEFAULT_BACKEND",
            "DEFAULT_BASE_URL",
            "KEY_TAG",
            "Allowance",
            "BackendState",
            "BackendsAPI",
            "Calibration",
            "JobState",
            "JobsAPI",
            "KipuClient",
            "NormalizedInput",
            "NormalizedMemory",
            "NormalizedResult",
            "Pub",
            "RuntimeMinutesAPI",
            "ServiceExecution",
            "Session",
            "SessionsAPI",
            "Workload",
            "WorkloadsAPI",
        ]
    )
    assert package.KipuClient.default_capabilities is config.CAPABILITIES


# ------------------------------------------------------------------------------- config
def test_credentials_headers() -> None:
    creds = config.credentials(
        Setting("tok", "argument"), Setting(None, "unset"), Setting("http://h:1/q", "env")
    )
    assert (creds.base_url, dict(creds.auth_headers), dict(creds.headers)) == (
        "http://h:1/q",
        {"X-Auth-Token": "tok"},
        {},
    )
    creds = config.credentials(
        Setting("tok", "argument"), Setting("org-1", "env"), Setting("http://h", "env")
    )
    assert dict(creds.headers) == {"X-OrganizationId": "org-1"}


# -------------------------------------------------------------------------------- pages
def test_page_params_and_limits() -> None:
    assert pages.sort_params(None) == []
    assert pages.sort_params(["a,desc", "b"]) == [("sort", "a,desc"), ("sort", "b")]
    with pytest.raises(InputError) as info:
        pages.sort_params(["a", "b,sideways"])
    assert info.value.field == "sort[1]"
    assert pages.check_page_size(1000) == 1000
    for bad in (0, 1001, True, 2.0):
        with pytest.raises(InputError):
            pages.check_page_size(bad)
    assert pages.check_max_pages(None) is None
    with pytest.raises(InputError):
        pages.check_max_pages(0)
    assert pages.workload_params(
        {"type": ["job", "session"], "backend_id": "a.b", "origin": None, "tag": "k:v"}
    ) == [("type", "JOB"), ("type", "SESSION"), ("backendId", "a.b"), ("tag", "k:v")]
    with pytest.raises(InputError) as info:
        pages.workload_params({"origin": "elsewhere"})
    assert info.value.field == "origin"
    with pytest.raises(InputError) as info:
        pages.workload_params({"service_execution_id": []})
    assert info.value.field == "service_execution_id"


def test_page_ends_and_lookup_sizes() -> None:
    assert pages.page_content({}, "/jobs") == []
    assert pages.page_content({"content": [1, 2]}, "/jobs") == [1, 2]
    with pytest.raises(MalformedResponseError):
        pages.page_content({"content": {}}, "/jobs")
    with pytest.raises(MalformedResponseError):
        pages.page_content([], "/jobs")
    assert pages.is_last_page({"total_pages": 3}, [1], 2, 10)
    assert not pages.is_last_page({"total_pages": 3}, [1], 1, 10)
    assert pages.is_last_page({}, [1], 0, 10)  # short page, no total
    assert not pages.is_last_page({}, [1] * 10, 0, 10)
    assert pages.is_last_page({"total_pages": 9}, [], 0, 10)
    assert pages.key_tag("abc") == f"{config.KEY_TAG}:abc"
    with pytest.raises(InputError):
        pages.key_tag("")
    assert pages.status_pages(3, 100) == (100, 2)
    assert pages.status_pages(250, 100) == (100, 4)
    assert pages.status_pages(5, 5000) == (1000, 2)


# ------------------------------------------------------------------------------- bodies
def test_job_body_from_circuit_and_native_input() -> None:
    body, widths = bodies.job_body(
        "kipu.sim.qsim", shots=5, input=BELL, name="n", tags=["t"], session_id="s1"
    )
    assert widths == (2,)
    assert list(body)[:4] == ["name", "backend_id", "shots", "input"]
    assert (body["tags"], body["session_id"], body["sdk_provider"]) == (["t"], "s1", "CLIENT")
    native, widths = bodies.job_body(
        "aws.ionq.forte", shots=1, input={"x": 1}, input_format="QOQO", sdk_provider=None
    )
    assert widths == ()
    assert native == {
        "backend_id": "aws.ionq.forte",
        "shots": 1,
        "input": {"x": 1},
        "input_format": "QOQO",
    }
    for kwargs, field in (
        ({"shots": 0}, "shots"),
        ({"input": ""}, "input"),
        ({"input_format": "NOPE"}, "input_format"),
        ({"tags": "t"}, "tags"),
        ({"sdk_provider": "ME"}, "sdk_provider"),
        ({"qasm": {"format": "qasm4"}}, "qasm"),
    ):
        args = {"shots": 1, "input": {"x": 1}, **kwargs}
        with pytest.raises(InputError) as info:
            bodies.job_body("b.c", **args)  # type: ignore[arg-type]
        assert info.value.field == field


def test_session_body_and_submission_checks() -> None:
    assert bodies.session_body("ibm.qpu.fez", ttl=60) == {
        "backend_id": "ibm.qpu.fez",
        "mode": "batch",
        "provider": "IBM",
        "ttl": 60,
        "sdk_provider": "CLIENT",
    }
    with pytest.raises(InputError):
        bodies.session_body("ibm.qpu.fez", mode="solo")
    assert bodies.submission_tags(None, "k") == [f"{config.KEY_TAG}:k"]
    assert bodies.submission_tags(["a"], None) == ["a"]
    with pytest.raises(InputError):
        bodies.submission_tags(None, "k" * (config.MAX_KEY_LENGTH + 1))
    bodies.check_circuits([BELL], 1)
    with pytest.raises(InputError, match="max_circuits_per_job=1"):
        bodies.check_circuits([BELL, BELL], 1)
    with pytest.raises(InputError):
        bodies.check_circuits("OPENQASM 3;", 1)
    with pytest.raises(InputError, match="max_payload_bytes=5"):
        payload_size({"input": "x" * 10}, 5)
    entry = Backend(name="b", provider="kipu", qubits=1, min_shots=2, max_shots=10)
    assert catalogue_entry({}, "b", "Hub") is None
    assert catalogue_entry({"b": entry}, "b", "Hub") is entry
    with pytest.raises(InputError, match=r"known: \['b'\]"):
        catalogue_entry({"b": entry}, "c", "Hub")
    with pytest.raises(InputError, match="has 1 qubits"):
        bodies.check_backend(entry, BELL, 5)
    one = Circuit(1, 1, (Instruction("h", (0,)),))
    with pytest.raises(InputError, match="needs >= 2"):
        bodies.check_backend(entry, one, 1)
    with pytest.raises(InputError, match="allows <= 10"):
        bodies.check_backend(entry, [one], 11)


def test_iso_datetimes() -> None:
    assert bodies.iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "t") == "2026-01-02T03:04:05Z"
    plus_two = timezone(timedelta(hours=2))
    assert bodies.iso(datetime(2026, 1, 2, tzinfo=plus_two), "t").endswith("+02:00")
    with pytest.raises(InputError):
        bodies.iso("2026-01-02", "t")


# ------------------------------------------------------------------------------- models
def test_answer_converters() -> None:
    state = job_state_from_wire({"status": "running"})
    assert (state.status, state.provider_status) == (JobStatus.RUNNING, "running")
    job = created_job({"name": "n", "shots": 3, "input": {}}, {"id": "j1", "backend_id": None})
    assert (job.id, job.name, job.shots, job.status) == ("j1", "n", 3, JobStatus.QUEUED)
    with pytest.raises(MalformedResponseError, match="has no id"):
        created_job({}, {"status": "PENDING"})
    assert [j.id for j in session_jobs_from_wire({"id": "a", "status": "RUNNING"})] == ["a"]
    assert session_jobs_from_wire({"content": []}) == []
    with pytest.raises(MalformedResponseError):
        session_jobs_from_wire("jobs")


# ------------------------------------------------------------------------------ results
def _done(**details: object) -> Job:
    return job_from_wire({"id": "j", "status": "COMPLETED", "shots": 10, **details})


def test_pub_and_native_results() -> None:
    job = _done()
    pubs = NormalizedResult(
        (
            Pub(type="counts", counts={"00": 6, "11": 4}, qubits=2),
            Pub(type="probabilities", probabilities={"1": 1.0}, qubits=1, shots=4),
        )
    )
    first, second = results.normalized_results(pubs, job)
    assert first.counts == {"00": 6, "11": 4}
    assert (second.counts, second.shots, second.index) == ({"1": 4}, 4, 1)
    with pytest.raises(JobFailedError, match="bad gate"):
        results.result_of_pub(Pub(type="error", error={"message": "bad gate"}), job, 0)
    braket = results.native_results({"measurement_counts": {"10": 10}}, job)
    assert braket is not None
    assert braket[0].counts == {"01": 10}  # qubit 0 leftmost on Braket
    assert results.native_results({"other": 1}, job) is None
    memory = results.memory_of(["0x3", "1"], first)
    assert memory.tolist() == [3, 1]


def test_failure_from_result() -> None:
    failure = results.failure_from_result({"error": {"message": "boom", "code": 7}})
    assert (failure.message, failure.code) == ("boom", "7")
    assert results.failure_from_result(None).message == "no reason given"


def test_error_parser_reads_problem_json_and_falls_back() -> None:
    problem = b'{"type": "urn:quota", "title": "Quota", "detail": "over quota"}'
    assert error_parser(429, problem) == ("over quota", "urn:quota")
    assert error_parser(404, b'{"title": "Not Found"}') == ("Not Found", "Not Found")
    assert error_parser(502, b"") == ("HTTP 502 (empty body)", None)
    assert error_parser(500, b'{"message": "boom", "code": "E1"}') == ("boom", "E1")
    assert error_parser(500, b"<html>") == default_error_parser(500, b"<html>") == ("<html>", None)
