"""The shared value classes: JobStatus, Job, JobFailure, Backend and Result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import numpy as np
import pytest

import qjobs
from qjobs import Backend, InputError, Job, JobFailure, JobStatus, Result

SECRET = "sk-models-secret-271828"


# ------------------------------------------------------------------------------- JobStatus
@pytest.mark.parametrize(
    ("status", "final"),
    [
        (JobStatus.QUEUED, False),
        (JobStatus.RUNNING, False),
        (JobStatus.CANCELLING, False),
        (JobStatus.UNKNOWN, False),
        (JobStatus.COMPLETED, True),
        (JobStatus.FAILED, True),
        (JobStatus.CANCELLED, True),
    ],
)
def test_job_status_is_final(status: JobStatus, final: bool) -> None:
    assert status.is_final is final
    job = Job(id="j", provider="p", status=status)
    assert job.is_final is final


def test_job_status_values_are_stable_strings() -> None:
    assert {s.value for s in JobStatus} == {
        "queued",
        "running",
        "cancelling",
        "completed",
        "failed",
        "cancelled",
        "unknown",
    }
    assert JobStatus("completed") is JobStatus.COMPLETED


# ------------------------------------------------------------------------------------ Job
def test_job_is_a_frozen_value_with_defaults() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job(
        id="j1",
        provider="ionq",
        status=JobStatus.FAILED,
        provider_status="failed",
        backend="simulator",
        shots=100,
        name="bell",
        created_at=when,
        child_ids=("c1", "c2"),
        circuit_count=2,
        tags={"experiment": "e1"},
        failure=JobFailure("boom", code="E1"),
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        job.status = JobStatus.COMPLETED  # type: ignore[misc]
    assert job.failure == JobFailure(message="boom", code="E1")
    assert job.child_ids == ("c1", "c2")
    bare = Job(id="j2", provider="ionq", status=JobStatus.QUEUED)
    assert (bare.provider_status, bare.backend, bare.shots, bare.child_ids) == ("", None, None, ())
    assert (bare.circuit_count, dict(bare.tags), bare.failure, bare.parent_id) == (
        1,
        {},
        None,
        None,
    )
    # evolve gives an updated copy; tags and details do not take part in equality
    done = attrs.evolve(bare, status=JobStatus.COMPLETED)
    assert done.is_final
    assert not bare.is_final
    assert attrs.evolve(bare, tags={"a": "b"}, details={"x": 1}) == bare


def test_reprs_never_show_details_that_may_hold_secrets() -> None:
    # ``details`` keeps whole wire objects (which a hostile or careless server could fill with
    # anything, a token included); it is left out of every repr.
    details: dict[str, Any] = {"authorization": f"apiKey {SECRET}", "token": SECRET}
    job = Job(id="j", provider="ionq", status=JobStatus.QUEUED, details=details)
    backend = Backend(name="simulator", provider="ionq", details=details)
    result = Result.from_counts({"1": 1}, 1, job=job)
    for text in (repr(job), str(job), repr(backend), repr(result)):
        assert SECRET not in text
    assert "j" in repr(job)
    assert "simulator" in repr(backend)


# -------------------------------------------------------------------------------- Backend
def test_backend_defaults_and_frozen() -> None:
    b = Backend(name="qpu.aria-1", provider="ionq", qubits=25, max_shots=10_000)
    assert (b.simulator, b.available, b.min_shots, b.status) == (False, True, 1, None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        b.qubits = 3  # type: ignore[misc]
    assert b == Backend(name="qpu.aria-1", provider="ionq", qubits=25, max_shots=10_000)


# --------------------------------------------------------------------------------- Result
def test_from_counts_derives_probabilities_and_shots() -> None:
    res = Result.from_counts({"00": 3, "11": 1, "01": 0}, 2, job_id="j", index=2)
    assert res.counts == {"00": 3, "11": 1}  # zero counts omitted
    assert res.shots == 4
    assert res.probabilities.dtype == np.float64
    np.testing.assert_array_equal(res.probabilities, [0.75, 0.0, 0.0, 0.25])
    assert (res.num_clbits, res.job_id, res.index, res.memory) == (2, "j", 2, None)


def test_from_counts_bit_zero_is_rightmost_and_keys_are_normalised() -> None:
    res = Result.from_counts({"1": 2, "001": 2, "100": 4}, 3)
    # "1" and "001" are both outcome 1 (bit 0 set) and add up; "100" is outcome 4 (bit 2 set)
    assert res.counts == {"001": 4, "100": 4}
    assert res.probabilities[1] == 0.5
    assert res.probabilities[4] == 0.5


def test_from_counts_explicit_shots_empty_and_zero_width() -> None:
    assert Result.from_counts({"1": 3}, 1, shots=10).shots == 10
    empty = Result.from_counts({}, 2)
    assert (empty.shots, empty.counts) == (0, {})
    np.testing.assert_array_equal(empty.probabilities, np.zeros(4))
    zero = Result.from_counts({"": 5}, 0)
    assert zero.counts == {"": 5}
    np.testing.assert_array_equal(zero.probabilities, [1.0])


@pytest.mark.parametrize(
    ("counts", "width", "field"),
    [
        ({"111": 5}, 2, "counts['111']"),  # wider than the register
        ({"12": 5}, 2, "counts['12']"),  # not a bitstring
        ({"0 1": 5}, 3, "counts['0 1']"),
        ({"01": -1}, 2, "counts['01']"),
        ({"01": 1.5}, 2, "counts['01']"),
        ({"01": True}, 2, "counts['01']"),
        ({"0": 1}, -1, "num_clbits"),
    ],
)
def test_from_counts_rejects_bad_input_naming_the_key(
    counts: dict[str, Any], width: int, field: str
) -> None:
    with pytest.raises(InputError) as info:
        Result.from_counts(counts, width)
    assert info.value.field == field


def test_from_counts_accepts_numpy_integers() -> None:
    res = Result.from_counts({"1": np.int64(3), "0": np.int32(1)}, 1)  # type: ignore[dict-item]
    assert res.counts == {"0": 1, "1": 3}
    assert all(type(v) is int for v in res.counts.values())


def test_expectation_of_diagonal_paulis() -> None:
    bell = Result.from_counts({"00": 50, "11": 50}, 2)
    assert bell.expectation("ZZ") == 1.0
    assert bell.expectation("ZI") == 0.0
    assert bell.expectation("IZ") == 0.0
    assert bell.expectation("II") == 1.0
    # the rightmost character is classical bit 0: outcome 1 (bit 0 set) flips "IZ" only
    one = Result.from_counts({"01": 1}, 2)
    assert (one.expectation("IZ"), one.expectation("ZI"), one.expectation("ZZ")) == (-1, 1, -1)
    mixed = Result.from_counts({"000": 1, "011": 1, "101": 2}, 3)
    # signs of ZIZ: 000 -> +1, 011 -> -1, 101 -> +1
    assert mixed.expectation("ZIZ") == pytest.approx((1 - 1 + 2) / 4)


@pytest.mark.parametrize("observable", ["Z", "ZZZ", "XZ", "zz", ""])
def test_expectation_rejects_bad_observables(observable: str) -> None:
    with pytest.raises(InputError) as info:
        Result.from_counts({"00": 1}, 2).expectation(observable)
    assert info.value.field == "observable"
    assert isinstance(info.value, ValueError)


def test_result_probabilities_are_converted_to_float_arrays() -> None:
    res = Result(counts={"1": 1}, probabilities=[0, 1], shots=1, num_clbits=1)
    assert isinstance(res.probabilities, np.ndarray)
    assert res.probabilities.dtype == np.float64


def test_models_are_exported() -> None:
    for name in ("Backend", "Job", "JobFailure", "JobStatus", "Result"):
        assert getattr(qjobs, name) is getattr(qjobs._core.models, name)
        assert name in qjobs.__all__
