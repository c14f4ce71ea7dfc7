"""The QPI provider package has the common shape: one composed client and pure parts."""

from __future__ import annotations

import abc
import ast
import enum
import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from source_tree import defined_classes

import qjobs
from qjobs import Circuit
from qjobs.providers._base import ProviderClient
from qjobs.providers.qpi import QPIClient, bodies, circuits, config, models, pages, results

PACKAGE = Path(importlib.import_module("qjobs.providers.qpi").__file__ or "").parent
PARTS = {"__init__", "client", "config", "models", "circuits", "bodies", "pages", "results"}
PURE = ("bodies", "pages", "results", "circuits", "models", "config")
BELL = Circuit.from_qasm(
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\n'
    "c = measure q;\n"
)


def test_the_package_holds_exactly_the_common_parts() -> None:
    found = {p.stem for p in PACKAGE.glob("*.py")}
    assert found == PARTS
    assert not [p for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"]


@pytest.mark.parametrize("part", sorted(PARTS))
def test_no_class_has_a_mixin_base(part: str) -> None:
    module = importlib.import_module(f"qjobs.providers.qpi.{part}".removesuffix(".__init__"))
    allowed = {object, ProviderClient, abc.ABC, enum.Enum, BaseException, Exception}
    for cls in defined_classes(module):
        extra = [
            k
            for k in cls.__mro__[1:]
            if k not in allowed and not issubclass(k, BaseException | enum.Enum)
        ]
        assert extra == [], f"{cls.__name__} inherits {extra}"


def test_the_client_is_one_class_over_provider_client() -> None:
    assert QPIClient.__bases__ == (ProviderClient,)
    assert QPIClient.__mro__ == (QPIClient, ProviderClient, abc.ABC, object)
    assert defined_classes(importlib.import_module("qjobs.providers.qpi.client")) == [QPIClient]


@pytest.mark.parametrize("part", PURE)
def test_pure_parts_import_neither_the_client_nor_the_transport(part: str) -> None:
    tree = ast.parse((PACKAGE / f"{part}.py").read_text())
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            imported.append(base)
            imported.extend(f"{base}.{a.name}" for a in node.names)
    bad = [
        name
        for name in imported
        if name == "qjobs.transport"
        or name.startswith("qjobs.transport.")
        or name == "qjobs.providers.qpi.client"
    ]
    assert bad == []


def test_the_key_comment_round_trips_through_a_job_payload() -> None:
    qasm = circuits.encode(BELL, "k-1")
    assert qasm.splitlines()[1] == "// qjobs-key: k-1"
    assert circuits.key_in(qasm) == "k-1"
    assert circuits.key_in(circuits.encode(BELL)) is None
    job = models.job_from_wire(
        {"id": "j", "status": "pending", "payload": {"circuits": [{"circuit": qasm}]}}
    )
    assert pages.key_of(job) == "k-1"
    assert pages.key_of(models.job_from_wire({"id": "j", "status": "pending"})) is None


def test_payload_widths_repeat_per_parameter_set() -> None:
    job = models.job_from_wire(
        {
            "id": "j",
            "status": "completed",
            "payload": {
                "circuits": [
                    {"circuit": BELL.to_qasm3(), "parameter_values": [[0.1], [0.2]]},
                    {"circuit": "OPENQASM 3.0;\nqubit[3] q;\nbit[5] c;\n"},
                ]
            },
        }
    )
    assert circuits.payload_widths(job) == [2, 2, 3]


def test_job_listing_checks_filters_and_filters_pages() -> None:
    listing = pages.JobListing.from_filters(
        {"status": ["completed", "failed"], "backend": "aer", "max_pages": 2}, 50
    )
    assert (listing.size, listing.sort, listing.max_pages) == (50, "-created", 2)
    done = models.job_from_wire({"id": "a", "status": "completed", "qpu_target": "aer"})
    other = models.job_from_wire({"id": "b", "status": "completed", "qpu_target": "ibm"})
    queued = models.job_from_wire({"id": "c", "status": "pending", "qpu_target": "aer"})
    assert [listing.keeps(j) for j in (done, other, queued)] == [True, False, False]
    assert not listing.last([done] * 50, 1)
    assert listing.last([done] * 50, 2)
    assert listing.last([done], 1)
    with pytest.raises(qjobs.InputError, match="limit"):
        pages.JobListing.from_filters({"limit": 1001}, 50)
    with pytest.raises(qjobs.InputError, match="sort"):
        pages.JobListing.from_filters({"sort": "name"}, 50)
    with pytest.raises(qjobs.InputError, match="colour"):
        pages.JobListing.from_filters({"colour": "red"}, 50)


def test_collection_pages_end_at_total_pages() -> None:
    assert pages.collection_params(2, 30, filter="x = 1", sort="-created") == {
        "page": 2,
        "perPage": 30,
        "filter": "x = 1",
        "sort": "-created",
    }
    assert pages.collection_page({"items": [1, 2], "totalPages": 3}, "users", 2) == ([1, 2], True)
    assert pages.collection_page({"items": [3], "totalPages": 3}, "users", 3) == ([3], False)
    assert pages.collection_page({"items": []}, "users", 1) == ([], False)
    with pytest.raises(qjobs.MalformedResponseError, match="users listing"):
        pages.collection_page([], "users", 1)
    assert pages.status_pages(250, 100) == 4
    assert pages.page_size(0) == 1
    assert pages.page_size(5000) == pages.MAX_PAGE_SIZE


def test_time_bodies_are_checked_and_written_in_utc() -> None:
    start = datetime(2026, 7, 24, 12, 0, tzinfo=UTC)
    body = bodies.time_slot_body(start, "2026-07-24T14:30:00+02:00", "u1")
    assert body == {
        "start_time": "2026-07-24T12:00:00.000Z",
        "end_time": "2026-07-24T12:30:00.000Z",
        "booked_by": "u1",
    }
    with pytest.raises(qjobs.InputError, match="after start"):
        bodies.time_slot_body(start, start, None)
    with pytest.raises(qjobs.InputError, match="give start, end or both"):
        bodies.time_slot_changes(None, None)
    assert bodies.time_slot_changes(None, start) == {"end_time": "2026-07-24T12:00:00.000Z"}
    assert bodies.time_requests_filter("approved") == "status = 'approved'"
    assert bodies.time_requests_filter(None) is None
    with pytest.raises(qjobs.InputError):
        bodies.time_requests_filter("maybe")


def test_request_review_and_qpu_bodies() -> None:
    assert bodies.time_request_body("u1", 30, "demo") == {
        "user": "u1",
        "status": "pending",
        "seconds": 30.0,
        "requested_reason": "demo",
    }
    with pytest.raises(qjobs.InputError, match="seconds"):
        bodies.time_request_body("u1", True, None)
    assert bodies.review_body(approve=True) == {"status": "approved"}
    assert bodies.review_body(approve=False, reason="busy") == {
        "status": "rejected",
        "rejection_reason": "busy",
    }
    assert bodies.qpu_body("q1", None, 5, True) == {"name": "q1", "num_qubits": 5, "enabled": True}
    with pytest.raises(qjobs.InputError, match="num_qubits"):
        bodies.qpu_body("q1", None, True, None)
    with pytest.raises(qjobs.InputError) as info:
        bodies.connect_body("q1", "", None, None)
    assert info.value.field == "access_token"
    assert "***" in str(info.value)
    assert bodies.toggle_body("q1", False) == {"id": "q1", "enabled": False}


def test_submit_checks_run_before_any_request() -> None:
    caps = config.DEFAULT_CAPABILITIES
    common: dict[str, Any] = {"shots": 10, "key": None, "meas_level": 2, "meas_return": "single"}
    with pytest.raises(qjobs.InputError, match="unknown submit option"):
        bodies.build_body(caps, BELL, parameter_values=None, options={"colour": 1}, **common)
    with pytest.raises(qjobs.InputError) as info:
        bodies.build_body(caps, BELL, parameter_values=None, backend="a/b", **common)
    assert info.value.field == "backend"
    body, items = bodies.build_body(caps, BELL, parameter_values=None, **common)
    assert items == [BELL]
    assert "qpu_target" not in body
    small = qjobs.Backend(name="tiny", provider="qpi", qubits=1)
    with pytest.raises(qjobs.InputError, match="2 qubits"):
        bodies.check_fits(small, items)


def test_wire_readers_keep_secrets_out_of_details() -> None:
    created = models.qpu_created_from_wire({"id": "q", "access_token": "s3cret"}, "q")
    assert created.access_token == "s3cret"
    assert "access_token" not in created.details
    assert "s3cret" not in repr(created)
    conn = models.qpu_connection_from_wire({"nng_command_port": 5555, "auth_token": "t0k"})
    assert conn.nng_command_port == 5555
    assert conn.nng_result_port is None
    assert "auth_token" not in conn.details
    token = models.token_from_wire({"id": "t", "token": "qpi_x", "created": "2026-07-24 12:00:00Z"})
    assert token.created_at == datetime(2026, 7, 24, 12, tzinfo=UTC)
    assert models.error_of(500, b"<html>oops</html>") is None
    assert models.error_of(400, b'{"message": "Bad.", "data": {}}') == ("Bad.", None)


def test_results_of_reads_counts_per_parameter_set() -> None:
    job = models.job_from_wire(
        {
            "id": "j",
            "status": "completed",
            "payload": {"shots": 4, "circuits": [{"circuit": BELL.to_qasm3()}]},
            "results": {"circuit_results": [{"counts": {"00": 3, "11": 1}}]},
        }
    )
    (only,) = results.results_of(job)
    assert only.counts == {"00": 3, "11": 1}
    iq = models.job_from_wire(
        {"id": "k", "status": "completed", "results": {"memory": [[[0.1, 0.2]]]}}
    )
    with pytest.raises(qjobs.JobError, match="iq_memory"):
        results.results_of(iq)
    assert results.iq_memory_of(iq)[0].shape == (1, 1, 2)


def test_credentials_carry_the_token_and_the_login_jwt() -> None:
    creds = config.credentials("http://127.0.0.1:8090", "tok", "jwt")
    assert creds.auth_headers == {"X-API-Token": "tok", "Authorization": "Bearer jwt"}
    assert config.credentials("http://h", None, None).auth_headers == {}


def test_a_created_job_starts_pending_on_its_target() -> None:
    body = {"circuits": [{"circuit": BELL.to_qasm3()}], "shots": 8, "qpu_target": "aer"}
    job = models.created_job_from_wire({"id": "j9"}, body)
    assert (job.id, job.status, job.backend, job.shots) == ("j9", qjobs.JobStatus.QUEUED, "aer", 8)
    with pytest.raises(qjobs.MalformedResponseError, match="no id"):
        models.created_job_from_wire({"ok": True}, body)
