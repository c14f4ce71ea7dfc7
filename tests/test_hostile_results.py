"""A hostile server cannot make a client allocate from sizes it claims, nor send it elsewhere.

Each provider's result path is fed hostile bodies from a fake server on 127.0.0.1 (or an
emulator with a replaced archive); the memory cases also run in a subprocess under
``RLIMIT_AS`` (tests/hostile_child.py), which the code before these checks exceeded.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Job, JobStatus, MalformedResponseError
from qjobs._core.models import MAX_RESULT_CLBITS, OutcomeCheck
from qjobs.emulators.qibo import EMULATOR_KEY
from qjobs.providers.qibo import QiboClient
from qjobs.providers.qibo.results import (
    ArchiveLimits,
    UnsafeArchiveError,
    UnsafePickleError,
    load_npy_dict,
    read_archive,
)
from qjobs.transport import RateLimit

sys.path.insert(0, str(Path(__file__).parent))
from hostile_server import (
    BELL,
    FakeServer,
    bytearray_npy,
    fake_server,
    longname_archive,
    npy,
    npy_pickle,
    samples_npy,
    tar_gz,
)

pytestmark = pytest.mark.anyio
FAST = {"rate_limit": RateLimit(None)}
WIDE_KEY = str(2**34 - 1)  # "17179869183": 34 bits


@asynccontextmanager
async def hostile(
    provider: str, routes: Mapping[str, Any], prefix: str = ""
) -> AsyncIterator[tuple[FakeServer, Any]]:
    """A fake server serving ``routes`` and a ``provider`` client pointed at it."""
    async with (
        fake_server(routes, prefix) as server,
        qjobs.connect(provider, token="t", base_url=server.base_url, **FAST) as client,
    ):
        yield server, client


def job(provider: str, **kwargs: Any) -> Job:
    kwargs.setdefault("shots", 10)
    return Job("j1", provider, JobStatus.COMPLETED, "completed", **kwargs)


# ----------------------------------------------------------------------- the shared checker
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.bits("101"), "not a bitstring of 2 bits"),
        (lambda c: c.bits("1"), "not a bitstring of 2 bits"),
        (lambda c: c.bits("2a"), "not a bitstring"),
        (lambda c: c.number(WIDE_KEY), "outside|not an integer"),
        (lambda c: c.number("4"), r"outside \[0, 2\*\*2\)"),
        (lambda c: c.number(-1), "outside"),
        (lambda c: c.number("1.5"), "not an integer"),
        (lambda c: c.counts({"01": 1.5}), "not an int"),
        (lambda c: c.counts({"01": -1}), "not an int"),
        (lambda c: c.counts({"01": 3}, shots=10), "add up to 3, not the 10 shots"),
        (lambda c: c.probabilities({"0": math.nan}), "finite"),
        (lambda c: c.probabilities({"0": -0.5, "1": 1.5}), "finite and >= 0"),
        (lambda c: c.probabilities({"0": 0.5, "1": 1.5}), "add up to 2.0"),
        (lambda c: c.samples([0, 4]), "outside"),
        (lambda c: c.dense([1.0, 0.0]), "shape"),
    ],
)
def test_outcome_check_refuses_bad_outcomes(call: Any, match: str) -> None:
    with pytest.raises(MalformedResponseError, match=match):
        call(OutcomeCheck(2, "x", "r"))


def test_outcome_check_caps_result_widths() -> None:
    assert OutcomeCheck.for_result(MAX_RESULT_CLBITS, "x").width == MAX_RESULT_CLBITS
    for bad in (MAX_RESULT_CLBITS + 1, 40, -1, True, "3"):
        with pytest.raises(MalformedResponseError):
            OutcomeCheck.for_result(bad, "x")
    check = OutcomeCheck(2, "x")
    assert check.counts({"01": 3, "1 0": 2}, shots=5) == {1: 3, 2: 2}
    assert check.number("0x3") == 3


# ---------------------------------------------------------------------- five providers
@pytest.mark.parametrize(
    "probabilities",
    [{WIDE_KEY: 1.0}, {"0": math.inf}, {"0": -1.0, "3": 2.0}, {"0": 0.2}, {"x": 1.0}],
)
async def test_ionq_refuses_outcomes_beyond_the_submitted_bits(
    probabilities: dict[str, float],
) -> None:
    async with hostile("ionq", {"/results/probabilities": probabilities}, "/v0.4") as (
        server,
        client,
    ):
        # tagged with the circuit qjobs submitted: 2 clbits from qubits 0 and 1
        tagged = job("ionq", tags={"qjobs_meas": "0,1"}, details={"stats": {"qubits": 2}})
        with pytest.raises(MalformedResponseError):
            await client.results(tagged)
        with pytest.raises(MalformedResponseError):  # a job without qjobs' metadata
            await client.results(job("ionq", shots=11))
    assert sum(server.hits.values()) == 2


async def test_ionq_does_not_follow_a_result_url_to_another_origin() -> None:
    async with (
        fake_server({"/": {"0": 1.0}}) as elsewhere,
        hostile("ionq", {"/results/probabilities": {"0": 1.0}}, "/v0.4") as (server, client),
    ):
        for url in (elsewhere.base_url + "/p", elsewhere.base_url.replace("http", "https")):
            bad = job("ionq", details={"results": {"probabilities": {"url": url}}})
            with pytest.raises(MalformedResponseError, match="another origin"):
                await client.results(bad)
        same = server.base_url + "/jobs/j1/results/probabilities"
        ok = job("ionq", details={"results": {"probabilities": {"url": same}}})
        assert (await client.results(ok))[0].counts == {"0": 10}
    assert sum(elsewhere.hits.values()) == 0
    assert sum(server.hits.values()) == 1


def _qbraid_result(counts: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "data": {"resultData": {"measurementCounts": counts, **extra}}}


@pytest.mark.parametrize(
    "body",
    [
        _qbraid_result({"1" * 40: 10}),
        _qbraid_result({"00": 5, "111": 5}),
        _qbraid_result({"00": 5.5, "11": 4.5}),
        _qbraid_result({"00": 3}),
        _qbraid_result({"00": 10}, measurementProbabilities={"00": math.nan}),
    ],
)
async def test_qbraid_refuses_bad_counts(body: dict[str, Any]) -> None:
    async with hostile("qbraid", {"/result": body}) as (server, client):
        with pytest.raises(MalformedResponseError):
            await client.results(job("qbraid"))
    assert sum(server.hits.values()) == 1


@pytest.mark.parametrize(
    "counts", [{"1" * 40: 10}, {"0x" + "f" * 10: 10}, {"000": 10}, {"00": 4}, {"00": -10}]
)
async def test_qpi_refuses_outcomes_wider_than_the_circuit(counts: dict[str, int]) -> None:
    payload = {"circuits": [{"circuit": BELL.to_qasm3()}]}
    async with hostile("qpi", {}) as (server, client):
        bad = job("qpi", details={"payload": payload, "results": {"counts": counts}})
        with pytest.raises(MalformedResponseError):
            await client.results(bad)
        unknown = job("qpi", details={"results": {"counts": {"1" * 40: 10}}})
        with pytest.raises(MalformedResponseError, match="40 bits wide"):
            await client.results(unknown)
    assert sum(server.hits.values()) == 0


@pytest.mark.parametrize(
    "pub",
    [
        {"type": "counts", "counts": {"1" * 40: 10}},
        {"type": "counts", "counts": {"11": 10}, "qubits": 40},
        {"type": "counts", "counts": {"111": 10}, "qubits": 2},
        {"type": "counts", "counts": {"11": 3}, "shots": 10},
        {"type": "probabilities", "probabilities": {"00": math.nan}},
        {"type": "probabilities", "probabilities": {"00": 0.5}, "qubits": 2},
    ],
)
async def test_kipu_refuses_bad_pubs(pub: dict[str, Any]) -> None:
    body = {"pubs": [pub]}
    async with hostile("kipu", {"/result/normalized": body}) as (server, client):
        with pytest.raises(MalformedResponseError):
            await client.results(job("kipu"))
    assert sum(server.hits.values()) == 1


async def test_kipu_refuses_a_wide_native_histogram() -> None:
    routes = {"/result/normalized": None, "/result": {"histogram": {WIDE_KEY: 1.0}}}
    async with hostile("kipu", routes) as (server, client):
        with pytest.raises(MalformedResponseError):
            await client.results(job("kipu"))
    assert sum(server.hits.values()) == 2


async def test_qibo_refuses_wide_frequencies_and_samples() -> None:
    async with (
        qjobs.emulators.serve("qibo") as server,
        qjobs.connect("qibo", token="t", base_url=server.base_url, **FAST) as client,
    ):
        assert isinstance(client, QiboClient)
        submitted = await client.submit(BELL, shots=4)
        done = await client.wait(submitted)
        wide = Job(
            done.id, "qibo", JobStatus.COMPLETED, "success", shots=4,
            details={**done.details, "frequencies": {"1" * 40: 4}},
        )  # fmt: skip
        with pytest.raises(MalformedResponseError, match="not a bitstring of 2 bits"):
            await client.results(wide)
        emulator = server.app[EMULATOR_KEY]
        emulator.replace_archive(done.id, tar_gz(("results.npy", samples_npy(30))))
        with pytest.raises(MalformedResponseError, match="30 columns"):
            await client.results(done, source="archive")
        foreign = Job(done.id, "qibo", JobStatus.COMPLETED, "success", shots=4)
        with pytest.raises(MalformedResponseError, match="30 bits wide"):
            await client.results(foreign, source="archive")
        good = await client.results(done)
        assert sum(good[0].counts.values()) == 4


# ------------------------------------------------------------------- qibo archive bytes
def test_a_gnu_long_name_header_is_capped_before_tarfile_reads_it() -> None:
    data = longname_archive(4 * 2**20)
    with pytest.raises(UnsafeArchiveError, match=r"extended tar header \('L'\) claims"):
        read_archive(data)
    small = ArchiveLimits(max_header_bytes=8 * 2**20)
    with pytest.raises(UnsafeArchiveError):  # allowed size, but not a readable archive
        read_archive(data[:1000], small)


def test_pax_size_records_and_sparse_members_are_refused() -> None:
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("results.npy")
        info.size = 1
        info.pax_headers = {"size": "1"}
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(UnsafeArchiveError, match="pax 'size'"):
        read_archive(out.getvalue())
    long_name = tar_gz(("d/" + "x" * 300, b"ok"))  # a legitimate pax long name still reads
    assert read_archive(long_name) == {}


@pytest.mark.parametrize(
    "raw",
    [
        bytearray_npy(2**30),
        # {"a": numpy.ndarray((2**30,), "b")}: ndarray called directly with a huge shape
        b"\x80\x03}X\x01\x00\x00\x00acnumpy\nndarray\nJ\x00\x00\x00@\x85C\x01b\x86Rs.",
        # {"a": _reconstruct(ndarray, (2**30,), b"b")}
        b"\x80\x03}X\x01\x00\x00\x00acnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        b"J\x00\x00\x00@\x85C\x01b\x87Rs.",
    ],
    ids=["bytearray", "ndarray-called", "reconstruct-shape"],
)
def test_pickles_that_allocate_from_a_claimed_size_are_refused(raw: bytes) -> None:
    data = raw if raw.startswith(b"\x93NUMPY") else npy_pickle(raw)
    with pytest.raises(MalformedResponseError):
        load_npy_dict(data)


def test_an_array_state_claiming_more_than_its_data_is_refused() -> None:
    big = np.zeros(4, dtype=np.int64)
    honest = npy({"dtype": "MeasurementOutcomes", "samples": big})
    assert load_npy_dict(honest)["samples"].shape == (4,)
    # the same pickle, its shape claiming 2**30 elements for 32 bytes of data
    lying = honest.replace(b"K\x04\x85", b"J\x00\x00\x00@\x85")
    assert lying != honest
    with pytest.raises(UnsafePickleError, match="does not match"):
        load_npy_dict(lying)


# ------------------------------------------------------- memory-limited subprocesses
@pytest.mark.parametrize(
    "case", ["qibo-longname", "qibo-bytearray", "qibo-samples", "ionq-wide-key"]
)
def test_hostile_bodies_stay_within_a_memory_limit(case: str) -> None:
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": f"{here.parent}{os.pathsep}{here}"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [sys.executable, str(here / "hostile_child.py"), case, "600"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{case}: peak RSS {report['peak_rss_kb']} KB (VmHWM {report['vm_hwm_kb']} KB)")
    assert report["outcome"] == "refused", report
    assert (report["vm_hwm_kb"] or report["peak_rss_kb"]) < 300 * 1024
