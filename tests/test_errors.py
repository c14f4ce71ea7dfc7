"""The exception tree: hierarchy, attributes, messages, pickling, and no secrets anywhere."""

from __future__ import annotations

import copy
import pickle

import pytest

import qjobs
from qjobs._core import errors as _errors

SECRET = "sk-errors-secret-161803"


def _api(cls: type[qjobs.APIError], **over: object) -> qjobs.APIError:
    kwargs: dict[str, object] = {
        "status": 404,
        "provider": "ionq",
        "method": "GET",
        "path": "/jobs/42",
        "code": "NotFound",
        "retry_after": None,
    }
    kwargs.update(over)
    return cls("job 42 not found", **kwargs)  # type: ignore[arg-type]


def test_every_error_derives_from_qjobs_error_and_is_exported() -> None:
    for name in _errors.__all__:
        cls = getattr(_errors, name)
        assert issubclass(cls, qjobs.QJobsError), name
        assert getattr(qjobs, name) is cls, name
        assert name in qjobs.__all__, name
        assert cls.__doc__, name


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (qjobs.InputError, (ValueError,)),
        (qjobs.QasmError, (qjobs.InputError,)),
        (qjobs.ValidationError, (qjobs.APIError,)),
        (qjobs.AuthenticationError, (qjobs.APIError,)),
        (qjobs.ForbiddenError, (qjobs.APIError,)),
        (qjobs.NotFoundError, (qjobs.APIError,)),
        (qjobs.ConflictError, (qjobs.APIError,)),
        (qjobs.RateLimitedError, (qjobs.APIError,)),
        (qjobs.ServerError, (qjobs.APIError,)),
        (qjobs.ConnectError, (qjobs.TransportError,)),
        (qjobs.RequestTimeoutError, (qjobs.TransportError, TimeoutError)),
        (qjobs.SubmitUncertainError, (qjobs.TransportError,)),
        (qjobs.JobFailedError, (qjobs.JobError,)),
        (qjobs.JobCancelledError, (qjobs.JobError,)),
        (qjobs.JobTimeoutError, (qjobs.JobError, TimeoutError)),
        (qjobs.JobLostError, (qjobs.JobError,)),
        (qjobs.LedgerError, (qjobs.QJobsError,)),
    ],
)
def test_hierarchy(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)


def test_api_error_carries_status_provider_method_path_message() -> None:
    err = _api(qjobs.RateLimitedError, status=429, retry_after=2.5)
    assert (err.status, err.provider, err.method, err.path) == (429, "ionq", "GET", "/jobs/42")
    assert (err.message, err.code, err.retry_after) == ("job 42 not found", "NotFound", 2.5)
    assert str(err) == "ionq GET /jobs/42 -> 429: job 42 not found"


def test_input_error_names_field_and_value_and_truncates() -> None:
    err = qjobs.InputError("shots", 0, "must be an int >= 1")
    assert (err.field, err.value, err.reason) == ("shots", 0, "must be an int >= 1")
    assert str(err) == "shots=0: must be an int >= 1"
    long = qjobs.InputError("name", "x" * 500, "too long")
    assert len(str(long)) < 120
    assert long.value == "x" * 500  # the attribute keeps the whole value


def test_qasm_error_has_position() -> None:
    err = qjobs.QasmError("unknown gate 'foo'", 3, 7)
    assert (err.line, err.column, err.message, err.field) == (3, 7, "unknown gate 'foo'", "source")
    assert str(err) == "line 3, column 7: unknown gate 'foo'"


def test_transport_and_job_errors() -> None:
    t = qjobs.SubmitUncertainError("reset", provider="ionq", method="POST", path="/jobs", key="k")
    assert (t.provider, t.method, t.path, t.key) == ("ionq", "POST", "/jobs", "k")
    assert str(t) == "ionq POST /jobs: reset"
    m = qjobs.MalformedResponseError("bad JSON", provider="ionq", method="GET", path="/jobs")
    assert str(m) == "ionq GET /jobs: malformed response: bad JSON"
    assert str(qjobs.MalformedResponseError("x", provider="p")) == "p: malformed response: x"
    f = qjobs.JobFailedError("boom", job_id="j1", provider="ionq", code="E42")
    assert (f.job_id, f.provider, f.code, f.message) == ("j1", "ionq", "E42", "boom")
    assert str(f) == "ionq job j1 failed (E42): boom"
    timeout = qjobs.JobTimeoutError("still queued", job_id="j2", provider="ionq")
    assert (timeout.job_id, str(timeout)) == ("j2", "still queued")


def test_errors_pickle_and_copy_with_their_attributes() -> None:
    errors: list[qjobs.QJobsError] = [
        _api(qjobs.ServerError, status=503, retry_after=1.0),
        qjobs.InputError("shots", 0, "must be >= 1"),
        qjobs.QasmError("bad", 1, 2),
        qjobs.SubmitUncertainError("x", provider="p", method="POST", path="/jobs", key="k"),
        qjobs.MalformedResponseError("m", provider="p"),
        qjobs.JobFailedError("boom", job_id="j", provider="p", code="C"),
        qjobs.CredentialsError("no token; looked at IONQ_API_KEY"),
    ]
    for err in errors:
        for clone in (pickle.loads(pickle.dumps(err)), copy.copy(err)):
            assert type(clone) is type(err)
            assert str(clone) == str(err)
            assert vars(clone) == vars(err)


@pytest.mark.anyio
async def test_no_error_from_a_real_request_holds_the_token() -> None:
    """A 401 and a 404 from the emulator, through the client: str, repr, args, attrs, pickle."""
    async with qjobs.emulators.serve("ionq", tokens=["good"]) as server:
        async with qjobs.connect("ionq", token=SECRET, base_url=server.base_url) as client:
            with pytest.raises(qjobs.AuthenticationError) as bad:
                await client.get_job("0f")
        async with qjobs.connect("ionq", token="good", base_url=server.base_url) as client:
            with pytest.raises(qjobs.NotFoundError) as missing:
                await client.get_job("0f")
    for err in (bad.value, missing.value):
        texts = [str(err), repr(err), repr(err.args), repr(vars(err)), repr(pickle.dumps(err))]
        assert not any(SECRET in text for text in texts)
    assert bad.value.status == 401
    assert (missing.value.status, missing.value.path) == (404, "/jobs/0f")
    assert missing.value.provider == "ionq"
    assert missing.value.method == "GET"
    assert "0f" in missing.value.message
