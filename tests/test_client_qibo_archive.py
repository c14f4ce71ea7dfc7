"""Qibo result archives are untrusted: hostile tars and pickles run nothing and write nothing."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, Instruction, MalformedResponseError
from qjobs.emulators.qibo import EMULATOR_KEY
from qjobs.providers.qibo import QiboClient
from qjobs.providers.qibo.results import (
    ArchiveLimits,
    UnsafeArchiveError,
    UnsafePickleError,
    extract_archive,
    load_npy_dict,
    parse_results,
    read_archive,
)
from qjobs.transport import RateLimit

BELL = Circuit(
    2,
    2,
    (
        Instruction("h", (0,)),
        Instruction("cx", (0, 1)),
        Instruction("measure", (0,), (), (0,)),
        Instruction("measure", (1,), (), (1,)),
    ),
)


def tar_gz(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return out.getvalue()


def file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def device(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info, None


def npy(payload: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, payload, allow_pickle=True)
    return buf.getvalue()


class Marker:
    """Pickles as a call that writes a marker file (what a hostile server would send)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


class OpenMarker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def hostile_npy(marker: Path) -> bytes:
    """A .npy whose object payload, unpickled naively, runs ``os.system``."""
    return npy({"dtype": "MeasurementOutcomes", "samples": Marker(marker), "measurements": []})


def good_payload() -> dict[str, Any]:
    return {
        "measurements": [
            '{"_class": "M", "_target_qubits": [0], "init_kwargs": {"register_name": null}}'
        ],
        "probabilities": None,
        "samples": np.array([[1]] * 7),
        "nshots": 7,
        "nqubits": None,
        "dtype": "MeasurementOutcomes",
        "qibo": "0.3.2",
    }


# ------------------------------------------------------------------------ pickles
def test_naive_loading_of_the_hostile_file_would_run_code(tmp_path: Path) -> None:
    # Control: the payload really is hostile (np.load with allow_pickle runs it).
    marker = tmp_path / "ran"
    np.load(io.BytesIO(hostile_npy(marker)), allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("cls", [Marker, OpenMarker])
def test_restricted_unpickler_refuses_hostile_globals(tmp_path: Path, cls: type[Any]) -> None:
    marker = tmp_path / "ran"
    data = npy({"dtype": "MeasurementOutcomes", "samples": cls(marker)})
    with pytest.raises(UnsafePickleError) as info:
        load_npy_dict(data)
    assert not marker.exists()
    assert info.value.module in ("posix", "os", "nt", "builtins", "io")
    assert "does not load" in str(info.value)
    assert isinstance(info.value, MalformedResponseError)


def test_restricted_unpickler_refuses_a_raw_reduce_opcode_stream(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    body = pickle.dumps(Marker(marker), protocol=2)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": ()}
    )
    with pytest.raises(UnsafePickleError):
        load_npy_dict(header.getvalue() + body)
    assert not marker.exists()


def test_good_payload_loads_arrays_and_scalars() -> None:
    payload = good_payload()
    payload["nshots"] = np.int64(7)
    payload["state"] = np.array([1 + 0j, 0j])
    loaded = load_npy_dict(npy(payload))
    parsed = parse_results(loaded)
    assert parsed.samples is not None
    assert parsed.samples.shape == (7, 1)
    assert parsed.nshots == 7
    assert parsed.measurements[0]["_target_qubits"] == [0]


@pytest.mark.parametrize(
    "data",
    [b"not npy", b"\x93NUMPY\x09\x00garbage", npy(np.arange(3)) + b"", npy([1, 2])[:-20]],
)
def test_broken_npy_is_malformed_not_a_crash(data: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        parse_results(load_npy_dict(data))


@pytest.mark.parametrize(
    "payload",
    [
        {"dtype": "Nope"},
        {"dtype": "MeasurementOutcomes", "samples": np.array([[2, 0]]), "measurements": []},
        {"dtype": "MeasurementOutcomes", "samples": np.array([1, 0]), "measurements": []},
        {"dtype": "MeasurementOutcomes", "measurements": ["{not json"]},
    ],
)
def test_payloads_with_bad_content_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        parse_results(load_npy_dict(npy(payload)))


# ------------------------------------------------------------------------ archives
HOSTILE = {
    "traversal": (file("../escape.txt", b"x"),),
    "nested traversal": (file("ok/../../escape.txt", b"x"),),
    "absolute": (file("/tmp/qjobs-absolute-escape.txt", b"x"),),
    "symlink escape": (link("results.npy", "/etc/passwd"),),
    "hardlink escape": (link("results.npy", "../../outside", tarfile.LNKTYPE),),
    "device": (device("dev"),),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_archives_write_nothing(tmp_path: Path, name: str) -> None:
    target = tmp_path / "target"
    members = [file("stdout.txt", b"hello"), *HOSTILE[name]]
    data = tar_gz(*members)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(UnsafeArchiveError):
        extract_archive(data, target)
    with pytest.raises(UnsafeArchiveError):
        read_archive(data)
    # Nothing was written, not even the harmless member: checks come before extraction.
    assert set(tmp_path.rglob("*")) - before <= {target}
    assert not any(target.rglob("*")) if target.exists() else True
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/tmp/qjobs-absolute-escape.txt").exists()


def test_oversize_members_and_too_many_members_are_refused(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_member_bytes=100, max_members=3, max_total_bytes=150)
    with pytest.raises(UnsafeArchiveError, match="limit 100"):
        read_archive(tar_gz(file("results.npy", b"x" * 101)), limits)
    with pytest.raises(UnsafeArchiveError, match="more than 3 members"):
        read_archive(tar_gz(*(file(f"f{i}", b"") for i in range(4))), limits)
    with pytest.raises(UnsafeArchiveError, match="more than 150 bytes"):
        extract_archive(tar_gz(file("a", b"x" * 80), file("b", b"x" * 80)), tmp_path / "t", limits)
    assert not (tmp_path / "t" / "a").exists()


def test_not_a_gzip_tar() -> None:
    with pytest.raises(UnsafeArchiveError, match="not a gzip tar"):
        read_archive(b"plain text")


def test_safe_archive_extracts_inside_the_target(tmp_path: Path) -> None:
    data = tar_gz(
        file("results.npy", npy(good_payload())), file("logs/stdout.txt", b"out"), file("x", b"")
    )
    written = extract_archive(data, tmp_path / "t")
    assert sorted(p.relative_to(tmp_path / "t").as_posix() for p in written) == [
        "logs/stdout.txt",
        "results.npy",
        "x",
    ]
    assert (tmp_path / "t" / "logs" / "stdout.txt").read_bytes() == b"out"
    members = read_archive(data)
    assert set(members) == {"results.npy"}  # only known top-level files are read


# ------------------------------------------------------------ end to end over HTTP
@pytest.mark.anyio
async def test_client_refuses_a_hostile_archive_from_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    async with qjobs.emulators.serve("qibo") as server:
        client = qjobs.connect(
            "qibo", token="t", base_url=server.base_url, rate_limit=RateLimit(None)
        )
        assert isinstance(client, QiboClient)
        async with client:
            job = await client.submit(BELL, shots=10)
            emulator = server.app[EMULATOR_KEY]
            emulator.replace_archive(job.id, tar_gz(file("results.npy", hostile_npy(marker))))
            with pytest.raises(UnsafePickleError):
                await client.results(job, source="archive")
            emulator.replace_archive(
                job.id, tar_gz(file("stdout.txt", b"x"), file("../../evil", b"x"))
            )
            with pytest.raises(UnsafeArchiveError):
                await client.extract_archive(job, tmp_path / "out")
            with pytest.raises(UnsafeArchiveError):
                await client.results(job, source="archive")
            emulator.replace_archive(job.id, b"\x1f\x8b" + b"\x00" * 100)
            with pytest.raises(UnsafeArchiveError):
                await client.logs(job)
            # The archive size cap applies while streaming.
            client.archive_limits = ArchiveLimits(max_archive_bytes=50)
            emulator.replace_archive(job.id, os.urandom(200))
            with pytest.raises(UnsafeArchiveError, match="exceeds 50 bytes"):
                await client.download_archive(job)
    assert not marker.exists()
    assert not (tmp_path.parent / "evil").exists()
    assert os.listdir(tmp_path) == []
