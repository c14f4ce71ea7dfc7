"""The shared pieces every provider uses: one integer check, one rounding routine, one failed-job
error, the declared ``permanent`` flag, ``Transport(retrier=)`` and the shared client options."""

from __future__ import annotations

import random

import numpy as np
import pytest

import qjobs
from qjobs._core.models import counts_from_probabilities
from qjobs._core.validation import check_int, is_int, is_number
from qjobs.providers import ClientOptions
from qjobs.transport import RequestKind, Retrier, RetryPolicy, Transport


@pytest.mark.parametrize(
    ("value", "low", "high", "ok"),
    [
        (1, None, None, True),
        (True, None, None, False),
        (False, 0, None, False),
        (1.0, None, None, False),
        ("1", None, None, False),
        (np.int64(3), None, None, False),
        (0, 1, None, False),
        (5, 1, 5, True),
        (6, 1, 5, False),
        (-1, None, 0, True),
    ],
)
def test_is_int_refuses_bools_and_bounds(
    value: object, low: int | None, high: int | None, ok: bool
) -> None:
    assert is_int(value, low=low, high=high) is ok


def test_check_int_names_the_field_and_range() -> None:
    assert check_int("shots", 3, low=1) == 3
    with pytest.raises(qjobs.InputError, match=r"shots=True: must be an int >= 1"):
        check_int("shots", True, low=1)
    with pytest.raises(qjobs.InputError, match=r"page=0: must be an int in 1..100"):
        check_int("page", 0, low=1, high=100)
    assert is_number(np.float64(0.5))
    assert not is_number(True)
    assert not is_number("1")


def test_result_from_probabilities_counts_sum_to_shots() -> None:
    res = qjobs.Result.from_probabilities([1 / 3, 1 / 3, 1 / 3, 0.0], 100, job_id="j")
    assert res.num_clbits == 2
    assert res.counts == {"00": 34, "01": 33, "10": 33}
    assert res.shots == 100
    assert res.job_id == "j"
    assert counts_from_probabilities([0.5, 0.5], 0).tolist() == [0, 0]
    with pytest.raises(qjobs.InputError, match="probabilities"):
        qjobs.Result.from_probabilities([0.5, 0.25, 0.25], 10)


def test_job_failed_error_from_job() -> None:
    failed = qjobs.Job(
        id="j1",
        provider="ionq",
        status=qjobs.JobStatus.FAILED,
        failure=qjobs.JobFailure(code="E1", message="boom"),
    )
    err = qjobs.JobFailedError.from_job(failed)
    assert (err.job_id, err.provider, err.code, err.message) == ("j1", "ionq", "E1", "boom")
    plain = qjobs.JobFailedError.from_job(
        qjobs.Job(id="j2", provider="kipu", status=qjobs.JobStatus.FAILED), "other"
    )
    assert plain.provider == "other"
    assert plain.message == "no reason given"
    assert plain.code is None


def test_permanent_is_declared_and_stops_retries() -> None:
    assert qjobs.QJobsError("x").permanent is False
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise qjobs.ConnectError("refused", provider="p", method="GET", path="/x")

    async def no_sleep(_: float) -> None:
        return None

    import anyio

    capped = Retrier(RetryPolicy(max_attempts=10), max_connect_retries=2, sleep=no_sleep)
    with pytest.raises(qjobs.ConnectError):
        anyio.run(capped.run, attempt, RequestKind.READ)
    assert calls == 3  # the first try and two retries
    with pytest.raises(qjobs.InputError, match="max_connect_retries"):
        Retrier(RetryPolicy(), max_connect_retries=-1)


def test_transport_takes_its_retrier_at_construction() -> None:
    retrier = Retrier(RetryPolicy(max_attempts=2))
    transport = Transport(provider="p", base_url="http://127.0.0.1:1", retrier=retrier)
    assert transport.retrier is retrier
    assert transport.retry is retrier.policy
    with pytest.raises(qjobs.InputError, match="retrier"):
        Transport(provider="p", base_url="http://127.0.0.1:1", retrier=object())  # type: ignore[arg-type]


def test_every_client_takes_the_shared_options_and_refuses_others() -> None:
    import importlib

    from qjobs.providers import PROVIDERS

    assert set(ClientOptions.__annotations__) >= {"timeouts", "retry", "headers", "capabilities"}
    for name, where in PROVIDERS.items():
        module, _, attr = where.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
            cls(token="t0ken-value", base_url="http://127.0.0.1:1", bogus=1)
        client = cls(
            token="t0ken-value",
            base_url="http://127.0.0.1:1",
            headers={"X-Test": "1"},
            user_agent="me",
        )
        assert client.provider == name
        assert client.capabilities is type(client).default_capabilities


def _numpy_counts(probabilities: list[float], shots: int) -> list[int]:
    """counts_from_probabilities written with numpy throughout (its large-size path)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    total = float(p.sum())
    exact = p / total * shots
    base = np.floor(exact).astype(np.int64)
    left = int(shots - int(base.sum()))
    if left > 0:
        order = np.lexsort((np.arange(p.size), -(exact - base)))
        base[order[:left]] += 1
    return [int(v) for v in base]


def test_counts_of_few_outcomes_match_the_numpy_reckoning() -> None:
    rng = random.Random(12)
    special = [0.0, -0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1e-300]
    for trial in range(3000):
        n = rng.choice([1, 2, 4, 8, 32, 64])
        kind = trial % 3
        probs = [
            rng.random()
            if kind == 0
            else rng.choice(special)
            if kind == 1
            else rng.randint(0, 6) / 7
            for _ in range(n)
        ]
        probs[0] += 1e-9  # never all zero
        shots = rng.choice([1, 3, 7, 100, 1000, 12345])
        assert counts_from_probabilities(probs, shots).tolist() == _numpy_counts(probs, shots)


def test_counts_of_few_outcomes_match_numpy_at_every_size_and_sign() -> None:
    # Every size up to the lean path's limit (numpy sums 8 at a time from 8 values on), with
    # negative values (clipped), tiny and large magnitudes, and one size past the limit.
    rng = random.Random(5)
    for trial in range(4000):
        n = 1 + trial % 65
        probs = [
            rng.choice([rng.random(), -rng.random(), rng.random() * 10 ** rng.randint(-30, 3)])
            for _ in range(n)
        ]
        probs[0] = abs(probs[0]) + 1e-9  # never all zero
        shots = rng.choice([1, 7, 100, 4096])
        assert counts_from_probabilities(probs, shots).tolist() == _numpy_counts(probs, shots)


def test_counts_of_few_outcomes_at_the_edges_match_numpy() -> None:
    # Signed zeros (no clip needed), a sum that overflows (numpy's path then), one value.
    from qjobs._core.models import _few_counts

    for probs, shots in [
        ([-0.0, 1.0], 5),
        ([0.0, -0.0, 0.5, 0.5], 3),
        ([1e308, 1e308, 0.0], 4),
        ([1e308, -1e308, 1.0], 4),
        ([0.3], 10),
        ([-0.5, 0.5], 9),
    ]:
        with np.errstate(over="ignore"):  # the overflowing sums are numpy's to reckon
            assert counts_from_probabilities(probs, shots).tolist() == _numpy_counts(probs, shots)
    assert _few_counts([], 3) == []
    assert _few_counts([float("nan"), 1.0], 3) is None
    assert _few_counts([float("inf"), 1.0], 3) is None


def test_the_lean_sum_is_numpys_to_the_last_bit() -> None:
    from qjobs._core.models import _numpy_sum

    rng = random.Random(8)
    for trial in range(3000):
        values = [rng.random() * 10 ** rng.randint(-12, 12) for _ in range(1 + trial % 128)]
        assert _numpy_sum(values) == float(np.add.reduce(np.array(values)))


def test_is_mapping_takes_dicts_fast_and_asks_the_abc_for_the_rest() -> None:
    import collections
    import types

    from qjobs._core.validation import is_mapping

    for yes in ({}, {"a": 1}, collections.OrderedDict(), types.MappingProxyType({"a": 1})):
        assert is_mapping(yes)
    for no in (None, [], [("a", 1)], "ab", b"ab", 3, {"a"}):
        assert not is_mapping(no)
