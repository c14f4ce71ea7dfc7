"""The shape of ``qjobs.providers.ionq`` (issue 10) and unit tests of its pure parts."""

from __future__ import annotations

import abc
import ast
import enum
import importlib
from pathlib import Path

import attrs
import numpy as np
import pytest
from source_tree import defined_classes

from qjobs import Circuit, InputError, Instruction, JobError, MalformedResponseError
from qjobs._core.models import Backend
from qjobs.providers._base import ProviderClient, require_completed
from qjobs.providers._checks import catalogue_entry, check_fits
from qjobs.providers.ionq import IonQClient, bodies, circuits, config, pages, results
from qjobs.providers.ionq.circuits import MeasurementMap
from qjobs.providers.ionq.models import _submitted_generic, job_from_wire, submitted_job

PACKAGE = Path(importlib.import_module("qjobs.providers.ionq").__file__ or "").parent
PARTS = {"__init__", "client", "config", "models", "circuits", "bodies", "pages", "results"}
PURE = ("bodies", "pages", "results", "circuits", "models", "config")
BELL = Circuit(2, 2, (Instruction("h", (0,)), Instruction("cx", (0, 1))), name="bell")


def test_package_holds_exactly_the_parts() -> None:
    found = {p.stem for p in PACKAGE.glob("*.py")}
    assert found == PARTS
    assert not [p for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"]


def _allowed_base(klass: type) -> bool:
    return (
        klass in (object, ProviderClient, abc.ABC)
        or issubclass(klass, BaseException)
        or issubclass(klass, enum.Enum)
        or klass in (str, int)
    )


def test_no_class_has_a_mixin() -> None:
    classes = []
    for part in PARTS:
        module = importlib.import_module(f"qjobs.providers.ionq.{part}")
        classes.extend(defined_classes(module))
    assert IonQClient in classes
    assert IonQClient.__bases__ == (ProviderClient,)
    for cls in classes:
        for klass in cls.__mro__[1:]:
            assert _allowed_base(klass), f"{cls.__name__} inherits from {klass.__name__}"
        if cls is not IonQClient and not issubclass(cls, BaseException | enum.Enum):
            assert attrs.has(cls), f"{cls.__name__} is neither the client nor an attrs class"


@pytest.mark.parametrize("part", PURE)
def test_pure_parts_import_neither_client_nor_transport(part: str) -> None:
    tree = ast.parse((PACKAGE / f"{part}.py").read_text())
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
            imported += [f"{node.module}.{alias.name}" for alias in node.names]
    for name in imported:
        assert name != "qjobs.providers.ionq.client"
        assert name != "qjobs.transport"
        assert not name.startswith("qjobs.transport.")
        assert name not in ("aiohttp", "anyio", "httpx")


# ------------------------------------------------------------------------------ config
def test_credentials_from_arguments() -> None:
    creds, source = config.credentials("tok", "http://127.0.0.1:9/v0.4")
    assert source == "argument"
    assert creds.base_url == "http://127.0.0.1:9/v0.4"
    assert dict(creds.auth_headers) == {"Authorization": "apiKey tok"}
    assert IonQClient.default_capabilities is config.DEFAULT_CAPABILITIES


# ------------------------------------------------------------------------------- pages
def test_list_params_translate_filters() -> None:
    params, max_pages = pages.list_params(
        {"backend": ["qpu.a", "qpu.b"], "ids": ["j1", "j2"], "status": None, "max_pages": 2}, 50
    )
    assert max_pages == 2
    assert params == [("ids", "j1"), ("ids", "j2"), ("target", "qpu.a,qpu.b"), ("limit", 50)]
    assert pages.list_params({"limit": 7}, 50) == ([("limit", 7)], None)


@pytest.mark.parametrize(
    "filters",
    [{"max_pages": 0}, {"max_pages": True}, {"ids": "j1"}, {"ids": ["a/b"]}, {"x": object()}],
)
def test_list_params_refuse_bad_filters(filters: dict[str, object]) -> None:
    with pytest.raises(InputError):
        pages.list_params(filters, 10)


def test_pages_and_cursors() -> None:
    jobs, cursor = pages.parse_page({"jobs": [{"id": "a", "status": "ready"}], "next": "c2"})
    assert [j.id for j in jobs] == ["a"]
    assert cursor == "c2"
    jobs, cursor = pages.parse_page([{"id": "b", "status": "completed"}])
    assert [j.id for j in jobs] == ["b"]
    assert cursor is None
    with pytest.raises(MalformedResponseError):
        pages.parse_page({"items": []})
    assert pages.with_cursor([("limit", 1)], None) == [("limit", 1)]
    assert pages.with_cursor([("limit", 1)], "c") == [("limit", 1), ("next", "c")]
    assert pages.ids_params(["a", "b"]) == [("ids", "a"), ("ids", "b"), ("limit", 2)]
    assert pages.chunks(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert pages.chunks(["a", "b"], 0) == [["a"], ["b"]]


def test_key_lookup_matches_only_the_parent() -> None:
    parent = job_from_wire({"id": "p", "status": "ready", "metadata": {"qjobs_key": "k"}})
    child = job_from_wire(
        {"id": "c", "status": "ready", "metadata": {"qjobs_key": "k"}, "parent_job_id": "p"}
    )
    assert pages.has_key(parent, "k")
    assert not pages.has_key(parent, "other")
    assert not pages.has_key(child, "k")
    assert pages.check_key("k") == "k"
    with pytest.raises(InputError):
        pages.check_key("")


# ------------------------------------------------------------------------------ bodies
def test_cancel_bodies_are_chunked() -> None:
    ids = [f"j{i}" for i in range(config.CANCEL_CHUNK * 2 + 5)]
    chunked = bodies.cancel_bodies(ids)
    assert [len(b["ids"]) for b in chunked] == [config.CANCEL_CHUNK, config.CANCEL_CHUNK, 5]
    assert [i for b in chunked for i in b["ids"]] == ids
    assert bodies.cancel_bodies([]) == []


def test_session_body() -> None:
    assert bodies.session_body(
        "qpu.forte-1", job_count_limit=None, duration_limit_min=None, cost_limit=None
    ) == {"backend": "qpu.forte-1"}
    assert bodies.session_body(
        "qpu.forte-1", job_count_limit=3, duration_limit_min=None, cost_limit=2.5
    ) == {
        "backend": "qpu.forte-1",
        "settings": {"job_count_limit": 3, "cost_limit": {"unit": "usd", "value": 2.5}},
    }
    for bad in ({"job_count_limit": True}, {"cost_limit": 0}, {"cost_limit": True}):
        kwargs = {"job_count_limit": None, "duration_limit_min": None, "cost_limit": None}
        with pytest.raises(InputError):
            bodies.session_body("qpu.forte-1", **{**kwargs, **bad})


def test_estimate_params_count_gates() -> None:
    params = bodies.estimate_params(
        BELL,
        backend="simulator",
        shots=10,
        one_qubit_gates=None,
        two_qubit_gates=None,
        qubits=None,
        error_mitigation=False,
        session=True,
    )
    assert params == {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "1q_gates": 1,
        "2q_gates": 1,
        "qubits": 2,
        "shots": 10,
        "error_mitigation": False,
        "session": True,
    }
    with pytest.raises(InputError):
        bodies.estimate_params(
            None,
            backend="simulator",
            shots=10,
            one_qubit_gates=-1,
            two_qubit_gates=None,
            qubits=None,
            error_mitigation=False,
            session=False,
        )


def test_catalogue_checks() -> None:
    qpu = Backend(name="qpu.aria-1", provider="ionq", qubits=25, min_shots=1, max_shots=1000)
    assert catalogue_entry({}, "anything", "IonQ") is None
    assert catalogue_entry({"qpu.aria-1": qpu}, "qpu.aria-1", "IonQ") is qpu
    with pytest.raises(InputError, match="unknown IonQ backend"):
        catalogue_entry({"qpu.aria-1": qpu}, "qpu.forte-1", "IonQ")
    check_fits(qpu, 25, 1000)
    with pytest.raises(InputError, match="25 qubits"):
        check_fits(qpu, 26, 10)
    with pytest.raises(InputError, match="<= 1000"):
        check_fits(qpu, 2, 1001)
    assert bodies.check_limit(None) is None
    with pytest.raises(InputError):
        bodies.check_limit(0)


def _bell_body(
    key: str | None, metadata: dict[str, str] | None
) -> tuple[dict[str, object], circuits.Encoded]:
    """The create body of BELL, 100 shots on the simulator."""
    return bodies.build_body(
        IonQClient.default_capabilities,
        BELL,
        shots=100,
        backend="simulator",
        name=None,
        key=key,
        noise=None,
        error_mitigation=None,
        settings=None,
        dry_run=False,
        metadata=metadata,
        session_id=None,
        gateset=None,
    )


def test_submitted_job_merges_the_body() -> None:
    body, encoded = _bell_body(key="k1", metadata=None)
    job = submitted_job({"id": "new", "status": None}, body, len(encoded.maps))
    assert (job.id, job.backend, job.shots, job.name) == ("new", "simulator", 100, "bell")
    assert job.provider_status == "submitted"
    assert job.tags["qjobs_key"] == "k1"
    with pytest.raises(MalformedResponseError):
        submitted_job({"status": "ready"}, body, 1)


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "new", "status": "submitted", "session_id": None},
        {"id": "new", "status": "ready"},
        {"id": "new"},
        {"id": "new", "status": None, "session_id": "s1"},
        {"id": "new", "status": "FAILED"},
        {"id": "new", "status": "something-new"},
        {"id": "new", "status": ""},
        # not the usual answer: the generic mapping reads these
        {"id": "new", "status": "completed", "submitted_at": "2026-01-02T03:04:05Z"},
        {"id": "new", "status": "ready", "child_job_ids": ["a", "b"]},
        {"id": "new", "status": 7, "session_id": 3},
        {"id": "new", "status": "ready", "failure": {"error": "boom", "code": 12}},
        {"id": "new", "status": "ready", "stats": {"circuits": 4}, "shots": "55"},
    ],
)
@pytest.mark.parametrize("circuits", [1, 3])
def test_submitted_job_equals_the_generic_mapping(answer: dict[str, object], circuits: int) -> None:
    body, _ = _bell_body(key="k1", metadata={"who": "me"})
    job = submitted_job(dict(answer), body, circuits)
    want = _submitted_generic(answer, body, circuits)
    assert attrs.asdict(job, recurse=False) == attrs.asdict(want, recurse=False)
    assert type(job.details) is dict
    assert type(job.tags) is dict


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"status": "ready"},
        {"id": "", "status": "ready"},
        {"id": None},
        {"id": 12, "status": "ready"},
        ["id", "new"],
        "new",
        None,
    ],
)
def test_a_create_answer_without_an_id_is_malformed(answer: object) -> None:
    body, _ = _bell_body(key=None, metadata=None)
    with pytest.raises(MalformedResponseError):
        submitted_job(answer, body, 1)


def test_submitted_job_reads_odd_bodies_as_the_generic_mapping() -> None:
    # A caller's own body: metadata that is not a dict, shots only in the metadata, no name.
    odd: list[dict[str, object]] = [
        {"backend": "simulator", "shots": None, "metadata": {"shots": "7"}, "type": "t"},
        {"backend": "", "shots": 5, "metadata": None, "type": "t", "name": 3},
        {"backend": None, "shots": True, "metadata": {"a": None, "b": 2}, "type": "t"},
    ]
    for body in odd:
        job = submitted_job({"id": "new", "status": "ready"}, body, 1)
        want = _submitted_generic({"id": "new", "status": "ready"}, body, 1)
        assert attrs.asdict(job, recurse=False) == attrs.asdict(want, recurse=False)
    with pytest.raises(KeyError):
        submitted_job({"id": "new"}, {"backend": "simulator", "shots": 1, "metadata": {}}, 1)


# ----------------------------------------------------------------------------- results
def test_results_apply_the_measurement_map() -> None:
    swap = MeasurementMap(sources=(1, 0))  # clbit 0 <- qubit 1, clbit 1 <- qubit 0
    job = job_from_wire(
        {
            "id": "j",
            "status": "completed",
            "metadata": {"shots": "10", "qjobs_meas": results.encode_maps([swap])},
        }
    )
    probs, children = results.split_probabilities(job, {"1": 1.0})  # qubit 0 is 1
    assert children == [None]
    maps = results.maps_for(job, 1, probs)
    assert maps == [swap]
    assert results.shots_of(job) == 10
    (res,) = results.build_results(job, probs, maps, [None], 10)
    assert res.counts == {"10": 10}
    assert res.memory is None
    assert res.job_id == "j"
    (res,) = results.build_results(job, probs, maps, [np.array([1, 1, 0])], 10)
    assert res.counts == {"10": 2, "00": 1}
    assert res.shots == 3
    assert res.memory is not None
    assert res.memory.tolist() == [2, 2, 0]


def test_aggregated_results_follow_the_children() -> None:
    job = job_from_wire({"id": "p", "status": "completed", "child_job_ids": ["c2", "c1"]})
    data = {"c1": {"0": 1.0}, "c2": {"1": 1.0}}
    probs, children = results.split_probabilities(job, data)
    assert children == ["c2", "c1"]
    assert probs == [{"1": 1.0}, {"0": 1.0}]
    with pytest.raises(MalformedResponseError, match="lack child job c1"):
        results.split_probabilities(job, {"c2": {"1": 1.0}})


def test_result_urls_stay_on_the_origin() -> None:
    base = "https://h:1/v0.4"
    assert results.result_target(base, "/v0.4/jobs/J/results") == base + "/jobs/J/results"
    with pytest.raises(MalformedResponseError, match="another origin"):
        results.result_target(base, "https://cdn.example/r")
    job = job_from_wire(
        {"id": "J", "status": "completed", "results": {"shots": {"url": "/v0.4/jobs/J/s"}}}
    )
    assert results.result_url(job, "shots") == "/v0.4/jobs/J/s"
    assert results.result_url(job, "probabilities") is None
    target, query, route = results.probabilities_request(base, job, True, {"x": 1})
    assert target == base + "/jobs/J/results/probabilities"
    assert query == {"x": 1, "sharpen": True}
    assert route == "GET /jobs/{id}/results/probabilities"
    assert results.shots_target(base, "J", None) == "jobs/J/results/shots"
    with pytest.raises(InputError):
        results.probabilities_request(base, job, "yes", {})  # type: ignore[arg-type]


def test_result_readiness_and_compiled_artifacts() -> None:
    running = job_from_wire({"id": "j", "status": "running"})
    with pytest.raises(JobError, match="not completed"):
        require_completed(running, "ionq")
    dry = job_from_wire({"id": "j", "status": "completed", "dry_run": True})
    require_completed(dry, "ionq")
    with pytest.raises(JobError, match="dry run"):
        results.check_has_results(dry)
    compiled = job_from_wire(
        {
            "id": "j",
            "status": "completed",
            "output": {"compilation": {"compiled_circuits": {"ionq.circuit.v1": {"id": "a1"}}}},
        }
    )
    assert results.compiled_artifact_ids(compiled) == {"ionq.circuit.v1": "a1"}
    assert results.compiled_artifact_ids(dry) == {}
    broken = job_from_wire(
        {"id": "j", "status": "completed", "output": {"compilation": {"compiled_circuits": []}}}
    )
    with pytest.raises(MalformedResponseError):
        results.compiled_artifact_ids(broken)
    assert results.cache_key("j", None, True, {"b": 2, "a": 1}) == (
        "j",
        None,
        True,
        (("a", "1"), ("b", "2")),
    )
