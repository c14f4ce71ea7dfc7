"""The shape of ``qjobs.providers.qibo`` (issue 10) and unit tests of its pure parts."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import pickle
from pathlib import Path

import attrs
import numpy as np
import pytest
from source_tree import defined_classes

import qjobs.providers.qibo as package
from qjobs import Circuit, InputError, Instruction, Job, JobStatus, MalformedResponseError
from qjobs.providers._base import ProviderClient
from qjobs.providers.qibo import bodies, config, pages, results
from qjobs.providers.qibo.models import (
    JobPostServerError,
    Partition,
    ProjectQuota,
    QiboVersionError,
    ServerVersion,
    created_pid,
    disk_quota_from_wire,
    submitted_job,
)

FOLDER = Path(package.__file__).parent
PARTS = {"__init__", "client", "config", "models", "circuits", "bodies", "pages", "results"}
PURE = ("bodies", "pages", "results", "circuits", "models", "config")
#: Bases a class may have beside ``object``: the provider interface, exceptions, enums, and the
#: two library classes the hostile-safe archive reading must extend.
ALLOWED_BASES = (ProviderClient, BaseException, enum.Enum, pickle.Unpickler, np.ndarray)
BELL = Circuit(2, 2, (Instruction("h", (0,)), Instruction("cx", (0, 1))))


def test_the_package_holds_exactly_the_parts() -> None:
    found = {p.stem for p in FOLDER.glob("*.py")}
    assert found == PARTS
    assert not [p for p in FOLDER.iterdir() if p.is_dir() and p.name != "__pycache__"]


def test_no_class_is_a_mixin() -> None:
    for stem in PARTS:
        module = importlib.import_module(f"qjobs.providers.qibo.{stem}")
        for cls in defined_classes(module):
            for base in cls.__mro__[1:]:
                if base is object:
                    continue
                assert issubclass(base, ALLOWED_BASES) or base in ProviderClient.__mro__, (
                    f"{cls.__qualname__} inherits {base.__qualname__}"
                )
    clients = [
        c
        for c in vars(importlib.import_module("qjobs.providers.qibo.client")).values()
        if inspect.isclass(c) and issubclass(c, ProviderClient) and c is not ProviderClient
    ]
    assert clients == [package.QiboClient]
    assert package.QiboClient.__bases__ == (ProviderClient,)


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
        if name.startswith(("qjobs.transport", "qjobs.providers.qibo.client"))
        or name in ("aiohttp", "anyio")
    }
    assert not bad, f"{stem} imports {sorted(bad)}"


def test_public_names_are_unchanged() -> None:
    assert sorted(package.__all__) == sorted(
        [
            "CLIENT_VERSION",
            "DEFAULT_BASE_URL",
            "TOKEN_VARIABLES",
            "URL_VARIABLES",
            "ArchiveLimits",
            "DiskQuota",
            "JobPostServerError",
            "Partition",
            "ProjectQuota",
            "QiboClient",
            "QiboVersionError",
            "ServerVersion",
            "UnsafeArchiveError",
            "UnsafePickleError",
        ]
    )
    assert package.QiboClient.default_capabilities is config.CAPABILITIES


# ------------------------------------------------------------------------------- config
def test_version_tuple_and_server_check() -> None:
    assert config.version_tuple("0.3.2rc1") == (0, 3, 2)
    assert config.version_tuple("1.0.0") == config.version_tuple("1") == (1,)
    assert config.version_tuple("0.2.10") > config.version_tuple("0.2.9")
    assert config.check_server_version(ServerVersion("0.3.2", "0.2.0"), "0.3.2") is False
    assert config.check_server_version(ServerVersion("0.4.0", "0.2.0"), "0.3.2") is True
    with pytest.raises(QiboVersionError) as info:
        config.check_server_version(ServerVersion("0.5", "0.4.1"), "0.3.2")
    assert (info.value.required, info.value.supported) == ("0.4.1", "0.3.2")


def test_credentials_refuse_the_api_path() -> None:
    from qjobs._core.config import Setting

    creds = config.credentials(Setting("tok", "argument"), Setting("http://h:1/x/", "env"))
    assert creds.base_url == "http://h:1/x"
    assert creds.auth_headers == {"x-api-token": "tok"}
    assert creds.headers == {"x-qibo-client-version": config.CLIENT_VERSION}
    with pytest.raises(InputError, match="without /api"):
        config.credentials(Setting("tok", "argument"), Setting("http://h/api/", "env"))


# ------------------------------------------------------------------------------- bodies
def test_job_body_checks_and_builds() -> None:
    body, encoded = bodies.job_body(
        [BELL], shots=10, device="sim", project="p", verbatim=True, max_payload_bytes=10**6
    )
    assert (body["nshots"], body["device"], body["project"], body["verbatim"]) == (
        10,
        "sim",
        "p",
        True,
    )
    assert body["circuit"] == encoded.circuit
    assert encoded.qubits == 2
    for kwargs, field in (
        ({"shots": True}, "shots"),
        ({"device": ""}, "backend"),
        ({"project": "x" * 201}, "project"),
        ({"verbatim": 1}, "verbatim"),
    ):
        args = {"shots": 1, "device": "sim", "project": "p", "verbatim": False, **kwargs}
        with pytest.raises(InputError) as info:
            bodies.job_body(BELL, max_payload_bytes=10**6, **args)  # type: ignore[arg-type]
        assert info.value.field == field
    with pytest.raises(InputError, match="one circuit per job"):
        bodies.job_body(
            [BELL, BELL], shots=1, device="sim", project="p", verbatim=False, max_payload_bytes=9
        )
    with pytest.raises(InputError, match="max_payload_bytes=10"):
        bodies.job_body(
            BELL, shots=1, device="sim", project="p", verbatim=False, max_payload_bytes=10
        )


def _quota(project: str, device: str, **kw: object) -> ProjectQuota:
    part = Partition(device, max_num_qubits=kw.pop("qubits", None), status=kw.pop("status", None))  # type: ignore[arg-type]
    return ProjectQuota(project=project, partition=part, **kw)  # type: ignore[arg-type]


def test_find_and_check_quota() -> None:
    quotas = [_quota("personal", "sim", qubits=5, max_num_shots=100), _quota("lab", "qpu")]
    assert bodies.find_quota([], "personal", "sim") is None
    found = bodies.find_quota(quotas, "personal", "sim")
    assert found is quotas[0]
    with pytest.raises(InputError, match=r"devices: \['sim'\]"):
        bodies.find_quota(quotas, "personal", "qpu")
    with pytest.raises(InputError, match=r"yours: \['lab', 'personal'\]"):
        bodies.find_quota(quotas, "nobody", "sim")
    bodies.check_quota(found, 5, 100)
    with pytest.raises(InputError, match="has 5 qubits"):
        bodies.check_quota(found, 6, 1)
    with pytest.raises(InputError, match="allows <= 100"):
        bodies.check_quota(found, 1, 101)
    with pytest.raises(InputError, match="device is unavailable"):
        bodies.check_quota(_quota("p", "d", status="unavailable"), 1, 1)


# -------------------------------------------------------------------------------- pages
def _job(pid: str, device: str) -> Job:
    return submitted_job(pid, {"nshots": 1, "circuit": {}, "device": device, "project": "p"})


def test_job_filters() -> None:
    queued = _job("a", "sim")
    assert pages.status_filter(None) is None
    assert pages.status_filter(JobStatus.QUEUED) == {"queued"}
    assert pages.status_filter(["QUEUEING", JobStatus.RUNNING]) == {"queueing", "running"}
    assert pages.matches(queued, {"queued"}, None)
    assert pages.matches(queued, {"queueing"}, "sim")
    assert not pages.matches(queued, {"running"}, None)
    assert not pages.matches(queued, None, "qpu")
    pages.check_filters({"status": 1, "backend": 2})
    with pytest.raises(InputError) as info:
        pages.check_filters({"status": 1, "owner": 2})
    assert info.value.field == "owner"
    with pytest.raises(MalformedResponseError, match="not a list"):
        pages.jobs_from_list({"jobs": []})
    assert [j.id for j in pages.jobs_from_list([{"pid": "x", "status": "success"}])] == ["x"]


# ------------------------------------------------------------------------------- models
def test_created_pid_and_disk_quota() -> None:
    assert created_pid({"pid": "p1"}) == "p1"
    with pytest.raises(JobPostServerError) as info:
        created_pid({"detail": "quota exceeded"})
    assert info.value.detail == "quota exceeded"
    quota = disk_quota_from_wire([{"user": {"email": "a@b"}, "kbs_left": 3, "kbs_max": True}])
    assert (quota.email, quota.kbs_left, quota.kbs_max) == ("a@b", 3.0, None)
    job = submitted_job("p1", {"nshots": 7, "circuit": {}, "device": "sim", "project": "p"})
    assert (job.id, job.status, job.shots, job.backend) == ("p1", JobStatus.QUEUED, 7, "sim")


# ------------------------------------------------------------------------------ results
def test_results_from_frequencies_follow_the_submitted_map() -> None:
    body, _ = bodies.job_body(
        BELL, shots=10, device="sim", project="p", verbatim=False, max_payload_bytes=10**6
    )
    job = attrs.evolve(
        submitted_job("j", body),
        status=JobStatus.COMPLETED,
        details={"circuit": body["circuit"]},
    )
    result = results.from_frequencies(job, {"00": 6, "11": 4})
    assert result.counts == {"00": 6, "11": 4}
    assert result.shots == 10


def test_result_options_and_log_members() -> None:
    results.check_result_options("auto", True)
    with pytest.raises(InputError):
        results.check_result_options("disk", False)
    with pytest.raises(InputError):
        results.check_result_options("auto", 1)
    with pytest.raises(InputError, match="archive only"):
        results.check_result_options("frequencies", True)
    members = {results.RESULTS_FILE: b"x", "stdout.txt": b"ok\xff"}
    assert results.logs_of(members) == {"stdout.txt": "ok\ufffd"}
    with pytest.raises(MalformedResponseError, match=r"has no results\.npy"):
        results.results_of({"stdout.txt": b""}, "j")
