"""The shape of ``qjobs.providers.qbraid`` (issue 10) and unit tests of its pure parts."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
from pathlib import Path
from typing import Any

import orjson
import pytest
from source_tree import defined_classes

import qjobs.providers.qbraid as package
from qjobs import Circuit, InputError, Instruction, Job, JobStatus, MalformedResponseError
from qjobs.providers._base import ProviderClient
from qjobs.providers._checks import payload_size
from qjobs.providers.qbraid import bodies, circuits, config, models, pages, results
from qjobs.providers.qbraid.models import Device, DeviceStatus, GroupJob, Pagination

FOLDER = Path(package.__file__).parent
PARTS = {"__init__", "client", "config", "models", "circuits", "bodies", "pages", "results"}
PURE = ("bodies", "pages", "results", "circuits", "models", "config")
#: The only names a pure part takes from the transport package: value types (config maps
#: qBraid's retry knobs onto the transport's policy).
TRANSPORT_VALUES = {
    "config": {"qjobs.transport.RetryPolicy", "qjobs.transport.Retrier"},
}
BELL = Circuit(2, 2, (Instruction("h", (0,)), Instruction("cx", (0, 1))), name="bell")
SIM = "qbraid:qbraid:sim:qasm-sim"


def _device(**fields: Any) -> Device:
    return Device(qrn=fields.pop("qrn", SIM), **fields)


def _job(**fields: Any) -> Job:
    return Job(id="qbraid:job:1", provider="qbraid", status=JobStatus.COMPLETED, **fields)


# ------------------------------------------------------------------------------- shape
def test_the_package_holds_exactly_the_parts() -> None:
    found = {p.stem for p in FOLDER.glob("*.py")}
    assert found == PARTS
    assert not [p for p in FOLDER.iterdir() if p.is_dir() and p.name != "__pycache__"]


def test_no_class_is_a_mixin() -> None:
    for stem in PARTS:
        module = importlib.import_module(f"qjobs.providers.qbraid.{stem}")
        for cls in defined_classes(module):
            for base in cls.__mro__[1:]:
                if base is object:
                    continue
                allowed = issubclass(base, (BaseException, enum.Enum))
                assert allowed or base in ProviderClient.__mro__, (
                    f"{cls.__qualname__} inherits {base.__qualname__}"
                )
    assert package.QbraidClient.__bases__ == (ProviderClient,)
    client = importlib.import_module("qjobs.providers.qbraid.client")
    clients = [
        c
        for c in vars(client).values()
        if inspect.isclass(c) and issubclass(c, ProviderClient) and c is not ProviderClient
    ]
    assert clients == [package.QbraidClient]


@pytest.mark.parametrize("stem", PURE)
def test_pure_parts_import_neither_client_nor_transport(stem: str) -> None:
    tree = ast.parse((FOLDER / f"{stem}.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            imported.update(names if node.module.startswith("qjobs.transport") else {node.module})
            imported.update(names)
    bad = {
        name
        for name in imported - TRANSPORT_VALUES.get(stem, set())
        if name.startswith(("qjobs.transport", "qjobs.providers.qbraid.client"))
        or name.split(".")[0] in ("aiohttp", "anyio")
    }
    assert not bad, f"{stem} imports {sorted(bad)}"


def test_public_names_and_capabilities() -> None:
    assert sorted(package.__all__) == sorted(
        [
            "DEFAULT_BASE_URL",
            "DEFAULT_DEVICE",
            "GROUP_STATUSES",
            "STATUS_MAP",
            "AccessToken",
            "Calibration",
            "CostEstimate",
            "CreditBalance",
            "Device",
            "DeviceStatus",
            "GroupJob",
            "JobStatusOptions",
            "Pagination",
            "Program",
            "ProviderInfo",
            "QbraidClient",
            "User",
            "UserContext",
        ]
    )
    assert package.DeviceStatus is DeviceStatus
    assert package.DEFAULT_DEVICE == config.DEFAULT_DEVICE == SIM
    assert package.QbraidClient.default_capabilities is config.CAPABILITIES
    assert config.CAPABILITIES.page_size == config.MAX_PAGE


# ------------------------------------------------------------------------------- bodies
def test_ids_and_tags() -> None:
    assert bodies.group_ref(GroupJob(qrn="qbraid:group:7")) == "qbraid:group:7"
    assert bodies.group_ref("qbraid:group:8") == "qbraid:group:8"
    assert bodies.job_ref(_job()) == "qbraid:job:1"
    with pytest.raises(InputError, match="job_id"):
        bodies.job_ref("a/b", "job_id")
    assert bodies.submit_tags({"run": 3, "ok": True}, "k1") == {
        "run": 3,
        "ok": True,
        config.TAG_KEY: "k1",
    }
    assert bodies.submit_tags(None, None) == {}
    with pytest.raises(InputError, match="reserved"):
        bodies.wire_tags({"qjobs_key": "x"})
    with pytest.raises(InputError, match="tag values"):
        bodies.wire_tags({"a": 1.5})
    with pytest.raises(InputError, match="key"):
        bodies.submit_tags(None, "k" * (config.MAX_KEY_LENGTH + 1))


def test_check_device_shots_and_noise() -> None:
    device = _device(min_shots=10, max_shots=100, noise_models=("ideal", "depolarizing"))
    assert bodies.check_device(device, 50) == 50
    with pytest.raises(InputError, match="allows <= 100"):
        bodies.check_device(device, 101)
    with pytest.raises(InputError, match="needs >= 10"):
        bodies.check_device(device, 9)
    with pytest.raises(InputError, match="must be an int >= 1"):
        bodies.check_device(device, True)
    with pytest.raises(InputError, match="direct access"):
        bodies.check_device(_device(direct_access=False), 50)
    bodies.check_noise({"noiseModel": "ideal"}, device)
    bodies.check_noise({"noiseModel": "anything"}, _device())
    with pytest.raises(InputError, match="device offers"):
        bodies.check_noise({"noiseModel": "amplitude"}, device)


def test_job_body_one_program_or_a_batch_and_its_size() -> None:
    program = {"format": "qasm3", "data": "OPENQASM 3.0;"}
    common: dict[str, Any] = {
        "name": "n",
        "shots": 10,
        "device_qrn": SIM,
        "tags": {"a": 1},
        "runtime_options": {},
        "group_qrn": None,
        "programs": [program],
    }
    single = bodies.job_body(**common, batch=False)
    assert single["program"] == program
    assert single["deviceQrn"] == SIM
    assert single["groupJobQrn"] is None
    assert bodies.job_body(**common, batch=True)["program"] == [program]
    size = payload_size(single, 10_000)
    assert size == len(orjson.dumps(single))
    with pytest.raises(InputError, match="max_payload_bytes=10"):
        payload_size(single, 10)
    with pytest.raises(InputError, match="JSON-serializable"):
        payload_size({"runtimeOptions": {"x": object()}}, 10_000, field="runtime_options")


def test_group_body_cost_and_delete_params() -> None:
    assert bodies.group_body(name="g", tags=None, metadata={"m": 1}, max_ttl=60) == {
        "name": "g",
        "tags": {},
        "metadata": {"m": 1},
        "maxTTL": 60,
    }
    assert "maxTTL" not in bodies.group_body(name=None, tags=None, metadata=None, max_ttl=None)
    bad_ttls: tuple[Any, ...] = (0, config.MAX_GROUP_TTL + 1, True, 1.0)
    for bad in bad_ttls:
        with pytest.raises(InputError, match="max_ttl"):
            bodies.group_body(name=None, tags=None, metadata=None, max_ttl=bad)
    with pytest.raises(InputError, match="metadata"):
        bodies.group_body(name=None, tags=None, metadata={"x": object()}, max_ttl=None)
    assert bodies.cost_params(None, None) == {"deviceQrn": SIM}
    assert bodies.cost_params("a:b:c:d", 5) == {"deviceQrn": "a:b:c:d", "shots": 5}
    with pytest.raises(InputError, match="shots"):
        bodies.cost_params(None, 0)
    ids = bodies.job_refs(["j1", _job(), "j1"])
    assert ids == ["j1", "qbraid:job:1"]
    assert orjson.loads(bodies.delete_params(ids)["qrns"]) == ids
    with pytest.raises(InputError, match=r"jobs\[1\]"):
        bodies.job_refs(["j1", "bad/id"])


# ------------------------------------------------------------------------------- pages
def test_page_params_and_filters() -> None:
    assert pages.page_params(2, None, default=50) == {"page": 2, "limit": 50}
    assert pages.page_params(1, config.MAX_PAGE, default=50)["limit"] == config.MAX_PAGE
    with pytest.raises(InputError, match="must be <= 100"):
        pages.page_params(1, config.MAX_PAGE + 1, default=50)
    with pytest.raises(InputError, match="page"):
        pages.page_params(0, None, default=50)
    params = pages.job_filters(
        {"status": "completed", "status_group": "returned", "tags": {"a": 1}}
    )
    assert params == {"status": "COMPLETED", "statusGroup": "returned", "tags": '{"a":1}'}
    with pytest.raises(InputError, match="unknown job filter"):
        pages.job_filters({"colour": "red"})
    with pytest.raises(InputError, match="status"):
        pages.job_filters({"status": "DONE"})
    assert pages.group_filters(None) == {}
    assert pages.group_filters("open") == {"status": "OPEN"}
    with pytest.raises(InputError, match="status"):
        pages.group_filters("DONE")


def test_next_page_and_lookup_by_key() -> None:
    more = Pagination(page=1, limit=10, has_next=True)
    last = Pagination(page=3, limit=10, has_next=False)
    assert pages.next_page(1, more, 10, None) == 2
    assert pages.next_page(3, last, 10, None) is None
    assert pages.next_page(1, more, 0, None) is None
    assert pages.next_page(2, more, 10, 2) is None
    assert pages.next_page(1, more, 10, 2) == 2
    assert pages.key_filters("k") == {"tags": {config.TAG_KEY: "k"}}
    with pytest.raises(InputError, match="key"):
        pages.key_filters("")
    assert pages.keyed(_job(tags={config.TAG_KEY: "k"}), "k")
    assert not pages.keyed(_job(tags={config.TAG_KEY: "other"}), "k")
    assert pages.FIND_PAGES >= 1


def test_device_query_and_matches() -> None:
    params, wanted = pages.device_query(False, {"vendor": "IonQ", "run_input_type": "QASM3"})
    assert params == {"retired": False}
    assert wanted == {"vendor": "ionq", "run_input_type": "qasm3"}
    assert pages.device_query(True, {})[0] is None
    with pytest.raises(InputError, match="include_retired"):
        pages.device_query(1, {})
    with pytest.raises(InputError, match="paradigm"):
        pages.device_query(False, {"paradigm": ""})
    ionq = _device(vendor="ionq", run_input_types=("qasm3", "qasm2"))
    assert pages.device_matches(ionq, wanted)
    assert not pages.device_matches(_device(vendor="ionq", run_input_types=("qasm2",)), wanted)
    assert not pages.device_matches(_device(vendor="aws", run_input_types=("qasm3",)), wanted)
    assert pages.device_matches(_device(), {})


# ------------------------------------------------------------------------------ circuits
def test_programs_follow_the_device() -> None:
    qasm3 = circuits.programs(BELL, None, _device(), max_circuits=10)
    assert [p["format"] for p in qasm3] == ["qasm3"]
    assert qasm3[0]["data"] == BELL.to_qasm3()
    only2 = _device(run_input_types=("qasm2",))
    assert circuits.programs(BELL, None, only2, max_circuits=10)[0]["format"] == "qasm2"
    with pytest.raises(InputError, match="does not accept qasm3"):
        circuits.qasm_version(3, only2)
    with pytest.raises(InputError, match="qasm"):
        circuits.qasm_version(4, _device())
    with pytest.raises(InputError, match="batch"):
        circuits.programs([BELL, BELL], None, _device(), max_circuits=10)
    batch = _device(batch_job_support=True)
    assert len(circuits.programs([BELL, BELL], 2, batch, max_circuits=10)) == 2
    with pytest.raises(InputError, match="at most 1 per job"):
        circuits.programs([BELL, BELL], None, batch, max_circuits=1)
    with pytest.raises(InputError, match="has 1 qubits"):
        circuits.programs(BELL, None, _device(number_qubits=1), max_circuits=10)
    with pytest.raises(InputError, match="at least one"):
        circuits.circuit_list([])
    with pytest.raises(InputError, match="Circuit"):
        circuits.circuit_list("OPENQASM 3.0;")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- results
def test_results_from_a_batch_and_a_single_payload() -> None:
    batch = {
        "results": [
            {"resultData": {"measurementCounts": {"00": 6, "11": 4}}},
            {"resultData": {"measurementCounts": {"01": 10}}},
        ]
    }
    out = results.results_from_payload(batch, job=_job(shots=10, circuit_count=2), memory=False)
    assert [r.index for r in out] == [0, 1]
    assert out[0].counts == {"00": 6, "11": 4}
    assert out[1].counts == {"01": 10}
    single = {"resultData": {"measurementCounts": {"1": 3, "0": 1}, "measurements": [[1], [0]]}}
    (one,) = results.results_from_payload(single, job=_job(shots=4), memory=True)
    assert one.counts == {"1": 3, "0": 1}
    assert one.memory is not None
    assert list(one.memory) == [1, 0]
    with pytest.raises(MalformedResponseError, match="2 programs but 1 results"):
        results.results_from_payload(single, job=_job(circuit_count=2), memory=False)
    with pytest.raises(MalformedResponseError, match=r"results\[0\]"):
        results.result_payloads({"results": ["x"]})


# -------------------------------------------------------------------------------- models
def test_device_status_of_a_device() -> None:
    status = models.device_status_of(_device(status="ONLINE", queue_depth=3, status_msg="ok"))
    assert status == DeviceStatus(
        qrn=SIM, status="ONLINE", online=True, queue_depth=3, status_msg="ok"
    )
    assert not models.device_status_of(_device(status="OFFLINE")).online
