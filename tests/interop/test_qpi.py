"""qpi-client 0.4.2 (QPIClient and its Qiskit backend), unchanged, against the QPI emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from conftest import Emulator, running
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

qpi_client = pytest.importorskip("qpi_client")
QPIClient = qpi_client.QPIClient

TOKEN = "qpi_" + "ab" * 32
USER = ("user@qpi.local", "qpi-user-password")
WAIT = 0.05  # QPIJob.result's poll interval; the SDK default is 5 s


@pytest.fixture(scope="module")
def qpi(timing: tuple[str, ...]) -> Iterator[Emulator]:
    with running("qpi", *timing, "--token", TOKEN, "--seed", "3") as emu:
        yield emu


@pytest.fixture(scope="module")
def slow_qpi(timing: tuple[str, ...]) -> Iterator[Emulator]:
    """Jobs queue for a minute (for cancellation)."""
    with running("qpi", *timing, "--token", TOKEN, "--queue-ms", "60000") as emu:
        yield emu


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


BELL_QASM = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[2] c;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n'
    "c[0] = measure q[0];\nc[1] = measure q[1];\n"
)


def test_backend_run_get_counts(qpi: Emulator) -> None:
    client = QPIClient(qpi.base_url, api_token=TOKEN)
    backend = client.get_backend("qiskit_aer")
    assert backend.num_qubits == 20
    job = backend.run(bell(), shots=1000)
    counts = job.result(wait=WAIT).get_counts()
    assert sum(counts.values()) == 1000
    # Without a header the SDK drops leading zeros: "00" reads "0" (spec section 6).
    assert set(counts) == {"0", "1", "10", "11"}
    assert counts["1"] == counts["10"] == 0
    assert 400 <= counts["0"] <= 600
    # The backend never sends qpu_target: the emulator routed the job to the first online QPU.
    record = client.get_job(job.job_id())
    assert record["qpu_target"] == "qiskit_aer"
    assert "qpu_target" not in record["payload"]


def test_backend_runs_a_list_as_one_job_with_parameters(qpi: Emulator) -> None:
    client = QPIClient(qpi.base_url, api_token=TOKEN)
    backend = client.get_backend("qpi")
    theta = Parameter("theta")
    rot = QuantumCircuit(1, 1)
    rot.rx(theta, 0)
    rot.measure(0, 0)
    before = qpi.stats()["jobs_created"]
    job = backend.run([rot, bell()], shots=200, parameter_values=[{theta: 3.141592653589793}, {}])
    result = job.result(wait=WAIT)
    assert qpi.stats()["jobs_created"] == before + 1
    assert result.get_counts(0) == {"0": 0, "1": 200}
    assert sum(result.get_counts(1).values()) == 200


def test_client_jobs_list_cancel_and_qpus(slow_qpi: Emulator) -> None:
    client = QPIClient(slow_qpi.base_url, api_token=TOKEN)
    job_id = client.submit_job([{"circuit": BELL_QASM}], shots=10, qpu_target="qiskit_aer")
    assert client.get_job(job_id)["status"] == "pending"
    assert job_id in [j["id"] for j in client.list_jobs()]
    assert client.cancel_job(job_id) == {"status": "cancelled"}
    assert client.job(job_id).status().name == "CANCELLED"
    with pytest.raises(requests.HTTPError) as info:
        client.cancel_job(job_id)
    assert info.value.response.status_code == 404
    names = [q["name"] for q in client.list_qpus()]
    assert names == ["qiskit_aer", "qpi"]
    assert client.get_qpu("qpi")["num_qubits"] == 5
    with pytest.raises(requests.HTTPError):
        client.get_qpu("nope")


def test_failed_job_raises_runtime_error_with_message(qpi: Emulator) -> None:
    client = QPIClient(qpi.base_url, api_token=TOKEN)
    job_id = client.submit_job([{"circuit": "OPENQASM 3.0;\nnot a circuit;\n"}], shots=10)
    with pytest.raises(RuntimeError, match="failed: circuits\\[0\\]: cannot parse OpenQASM"):
        client.job(job_id).result(wait=WAIT)


def test_time_slots_and_notifications_after_password_login(qpi: Emulator) -> None:
    client = QPIClient(qpi.base_url, api_token=TOKEN)
    auth = client.auth_with_password(*USER)
    user_id = auth["record"]["id"]
    start = datetime.now(UTC) + timedelta(days=3)
    slot = client.create_time_slot(
        start.isoformat(), (start + timedelta(hours=1)).isoformat(), booked_by=user_id
    )
    assert slot["booked_by"] == user_id
    assert slot["id"] in [s["id"] for s in client.list_time_slots()]
    moved = client.update_time_slot(slot["id"], end_time=(start + timedelta(hours=2)).isoformat())
    assert moved["end_time"].startswith((start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
    with pytest.raises(requests.HTTPError) as info:  # overlapping booking
        client.create_time_slot(
            start.isoformat(), (start + timedelta(minutes=30)).isoformat(), booked_by=user_id
        )
    assert info.value.response.json()["message"] == "Time slot overlaps with an existing booking."
    client.delete_time_slot(slot["id"])
    assert slot["id"] not in [s["id"] for s in client.list_time_slots()]
    notes = client.list_notifications()
    assert notes
    assert notes[0]["title"] == "Welcome"
    assert client.dismiss_notification(notes[0]["id"]) == {"status": "dismissed"}
    assert notes[0]["id"] not in [n["id"] for n in client.list_notifications()]
    assert [u["id"] for u in client.list_users()] == [user_id]


def test_admin_routes_refuse_an_ordinary_user(qpi: Emulator) -> None:
    client = QPIClient(qpi.base_url, api_token=TOKEN)
    with pytest.raises(requests.HTTPError) as info:
        client.create_qpu("mine", num_qubits=3)
    assert info.value.response.status_code in (401, 403)
