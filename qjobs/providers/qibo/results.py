"""Qibo cloud results (pure, no network): the result archive read as untrusted input, and the
conversion of frequencies, samples and probabilities into :class:`~qjobs.Result`.

The server answers ``GET /api/jobs/{pid}/download/`` with a gzip tar holding ``results.npy`` (a
pickled dict written by ``np.save(..., allow_pickle=True)``) and log files. The official client
extracts it to a shared folder and unpickles it without restriction, so a malicious server could
run code on the user's machine. Here:

* the archive is read in memory (or from a private spooled file): nothing touches the disk unless
  :func:`extract_archive` is asked to, and then every member is checked first (regular files and
  directories only, no absolute names, no ``..``, no links, no devices, size limits) and nothing is
  written when any member is unsafe; extraction also uses :mod:`tarfile`'s ``data`` filter;
* ``results.npy`` is parsed by hand (numpy's header reader, which evaluates literals only) and its
  pickle is loaded by :class:`RestrictedUnpickler`, whose ``find_class`` admits only the numpy
  array reconstruction callables and a few plain builtins. Anything else raises
  :class:`UnsafePickleError` before it is called.

Qibo's bitstrings put the first measured qubit leftmost; :func:`from_frequencies` and
:func:`from_archive` map them through the submitted circuit's
:class:`~qjobs.providers.qibo.circuits.MeasurementMap` into qjobs' convention (bit 0 rightmost).
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt
import orjson

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Job, OutcomeCheck, Result, counts_from_probabilities
from qjobs._core.validation import is_int
from qjobs.providers.qibo.circuits import MeasurementMap, map_from_gates

__all__ = [
    "RESULTS_FILE",
    "RESULT_SOURCES",
    "ArchiveLimits",
    "QiboResults",
    "RestrictedUnpickler",
    "ResultSource",
    "UnsafeArchiveError",
    "UnsafePickleError",
    "check_result_options",
    "extract_archive",
    "from_archive",
    "from_frequencies",
    "load_npy_dict",
    "logs_of",
    "parse_results",
    "read_archive",
    "results_of",
]

PROVIDER: Final = "qibo"
#: Where :meth:`QiboClient.results` reads a result from.
ResultSource = Literal["auto", "frequencies", "archive"]
RESULT_SOURCES: Final = ("auto", "frequencies", "archive")
RESULTS_FILE: Final = "results.npy"
#: Archive members read into memory by :func:`read_archive` (others are skipped unread).
KNOWN_FILES: Final = frozenset({RESULTS_FILE, "stdout.txt", "stderr.txt"})


class UnsafeArchiveError(MalformedResponseError):
    """The result archive is not a gzip tar, or holds a member qjobs refuses to read or write
    (absolute name, ``..``, link, device, too large, too many members)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, provider=PROVIDER)


class UnsafePickleError(MalformedResponseError):
    """``results.npy`` asked the unpickler for something other than numpy arrays and plain data.

    ``module`` and ``name`` are the refused global; it was never imported or called.
    """

    def __init__(self, message: str, *, module: str = "", name: str = "") -> None:
        self.module = module
        self.name = name
        super().__init__(message, provider=PROVIDER)


@attrs.frozen(slots=True)
class ArchiveLimits:
    """Bounds on an untrusted archive: compressed size, members, each member, their total, and
    the extended headers (GNU long names, pax records) that :mod:`tarfile` reads whole."""

    max_archive_bytes: int = 64 * 2**20
    max_members: int = 64
    max_member_bytes: int = 64 * 2**20
    max_total_bytes: int = 256 * 2**20
    max_header_bytes: int = 64 * 2**10


def _numpy_callable(name: str) -> Any:
    core = getattr(np, "_core", None)
    multiarray = getattr(core, "multiarray", None) if core is not None else None
    if multiarray is None:  # pragma: no cover - numpy 1.x
        multiarray = np.core.multiarray  # type: ignore[attr-defined]
    return getattr(multiarray, name)


_RECONSTRUCT: Final = _numpy_callable("_reconstruct")
_SCALAR: Final = _numpy_callable("scalar")
#: The largest numpy scalar (in bytes) a pickle may hold.
_MAX_SCALAR_BYTES: Final = 64


class _NdarrayName:
    """What ``numpy.ndarray`` resolves to: a marker, so that the pickle cannot call it."""

    def __repr__(self) -> str:
        return "numpy.ndarray"


_NDARRAY: Final = _NdarrayName()


class _CheckedArray(np.ndarray):
    """An array whose pickled state must hold as much data as its shape and dtype claim.

    ``ndarray.__setstate__`` allocates ``prod(shape) * itemsize`` bytes before it looks at the
    data, so a pickle claiming a huge shape would allocate from a size the server chose.
    """

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise UnsafePickleError("results.npy holds an array with an unreadable state")
        shape, dtype, _fortran, data = state[-4:]
        if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple):
            raise UnsafePickleError("results.npy holds an array without a shape and dtype")
        if not all(is_int(d, low=0) for d in shape):
            raise UnsafePickleError(f"results.npy holds an array of shape {shape!r:.80}")
        count = 1
        for dim in shape:
            count *= dim
        if dtype.hasobject:
            have = len(data) if isinstance(data, list) else -1
            ok = have == count and dtype.itemsize == np.dtype(object).itemsize
        else:
            have = len(data) if isinstance(data, bytes | bytearray) else -1
            ok = have == count * dtype.itemsize
        if not ok:
            raise UnsafePickleError(
                f"results.npy holds an array of shape {shape!r:.80} and dtype {dtype} "
                f"whose data has {have} items: it does not match"
            )
        super().__setstate__(state)


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    """numpy's ``_reconstruct`` for the empty placeholder array that pickles start from."""
    if subtype is not _NDARRAY or shape != (0,):
        raise UnsafePickleError("results.npy reconstructs an array other than numpy's way")
    return _RECONSTRUCT(_CheckedArray, (0,), dtype)


def _scalar(dtype: Any, *data: Any) -> Any:
    """numpy's ``scalar`` for a small plain scalar whose bytes are all present."""
    if not isinstance(dtype, np.dtype) or dtype.itemsize > _MAX_SCALAR_BYTES:
        raise UnsafePickleError(f"results.npy holds a scalar of dtype {dtype!r:.80}")
    if not dtype.hasobject and (
        len(data) != 1 or not isinstance(data[0], bytes) or len(data[0]) != dtype.itemsize
    ):
        raise UnsafePickleError(f"results.npy holds a {dtype} scalar with the wrong data")
    return _SCALAR(dtype, *data)


#: The only globals a ``results.npy`` pickle may name: numpy array and scalar reconstruction
#: (checked: see :class:`_CheckedArray`), dtypes and plain builtins that allocate nothing from a
#: claimed size. ``numpy.core`` is numpy 1.x's name of ``numpy._core``. ``bytearray``,
#: ``bytes``, ``range`` and a callable ``numpy.ndarray`` are deliberately absent: each
#: allocates whatever size the pickle asks for.
_ALLOWED: Final[dict[tuple[str, str], Any]] = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "complex"): complex,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays, numpy scalars and plain containers only.

    ``find_class`` never imports anything: it looks the requested global up in a fixed table and
    raises :class:`UnsafePickleError` for every other name (``os.system``, ``builtins.eval``,
    ``subprocess.Popen``, ...). Persistent ids are refused too.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed global; refuse everything else."""
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"results.npy refers to {module}.{name}, which qjobs does not load "
                "(only numpy arrays and plain data are allowed)",
                module=module,
                name=name,
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids (they would need an application-defined loader)."""
        raise UnsafePickleError("results.npy uses a persistent id, which qjobs does not load")


def load_npy_dict(data: bytes) -> dict[str, Any]:
    """Load the dict that ``np.save(path, a_dict)`` wrote, with the restricted unpickler.

    The ``.npy`` header is read with numpy's literal-only header parser; a non-object array is
    returned as ``{"array": ...}`` (no pickle involved).
    """
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, SyntaxError, EOFError) as exc:
        raise UnsafeArchiveError(f"results.npy is not a .npy file: {exc}") from None
    if not dtype.hasobject:
        count = int(np.prod(shape)) if shape else 1
        needed = count * dtype.itemsize
        rest = stream.read()
        if len(rest) < needed:
            raise UnsafeArchiveError("results.npy is truncated")
        array = np.frombuffer(rest[:needed], dtype=dtype).reshape(
            shape, order="F" if fortran else "C"
        )
        return {"array": array.copy()}
    try:
        loaded = RestrictedUnpickler(stream).load()
    except UnsafePickleError:
        raise
    except Exception as exc:
        raise UnsafeArchiveError(
            f"results.npy holds an unreadable pickle: {type(exc).__name__}: {exc}"
        ) from None
    value: Any = loaded
    if isinstance(loaded, np.ndarray) and loaded.dtype.hasobject and loaded.shape == ():
        value = loaded.item()
    if not isinstance(value, dict):
        raise UnsafeArchiveError(f"results.npy holds a {type(value).__name__}, not a dict")
    return value


def _check_name(name: str) -> PurePosixPath:
    if not name or "\x00" in name or "\\" in name:
        raise UnsafeArchiveError(f"archive member {name!r} has an unsafe name")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    if any(part == ".." for part in path.parts):
        raise UnsafeArchiveError(f"archive member {name!r} leaves the target folder ('..')")
    if path.parts and ":" in path.parts[0]:
        raise UnsafeArchiveError(f"archive member {name!r} names a drive")
    return path


#: Header types whose data :mod:`tarfile` reads into memory as part of the next member's header.
_EXTENDED_TYPES: Final = frozenset(b"LKxgX")
#: GNU sparse members carry sparse maps that :mod:`tarfile` reads into lists, block after block.
_SPARSE_TYPE: Final = ord("S")
_BLOCK: Final = 512
_SKIP_CHUNK: Final = 2**16


def _header_size(block: bytes) -> int:
    """The size field of a raw tar header (octal, or GNU base-256)."""
    field = block[124:136]
    if field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        if field[0] & 0x40:
            raise UnsafeArchiveError("an archive header has a negative size")
        return value
    text = field.rstrip(b"\x00 ").lstrip(b" ")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise UnsafeArchiveError("an archive header has an unreadable size") from None


def _check_checksum(block: bytes) -> None:
    stored = block[148:156].rstrip(b"\x00 ").lstrip(b" ")
    rest = block[:148] + b" " * 8 + block[156:]
    signed = sum(b - 256 if b > 127 else b for b in rest)
    try:
        ok = int(stored, 8) in (sum(rest), signed)
    except ValueError:
        ok = False
    if not ok:
        raise UnsafeArchiveError("the result archive has a corrupt header")


def _check_pax(data: bytes, name: str) -> None:
    """Refuse pax records that change a member's size or make it sparse."""
    for line in data.split(b"\n"):
        _, _, record = line.partition(b" ")
        key = record.partition(b"=")[0]
        if key == b"size" or key.startswith(b"GNU.sparse"):
            raise UnsafeArchiveError(f"archive member {name} has a pax {key.decode()!r} record")


def _read_exact(stream: gzip.GzipFile, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise UnsafeArchiveError("the result archive is truncated")
    return data


def scan_headers(source: IO[bytes], limits: ArchiveLimits) -> None:
    """Walk the raw 512-byte tar headers before :mod:`tarfile` sees them.

    :mod:`tarfile` reads a GNU long name/link or pax header's data whole, whatever size it
    claims, before any member check can run: 0.5 MB of gzip can claim a gigabyte. Here each
    header is read raw from the decompressed stream and member data is skipped in small
    chunks, so memory stays bounded: an extended header larger than
    ``limits.max_header_bytes``, a GNU sparse member, a pax record that changes sizes, a member
    over ``max_member_bytes``, too many headers or too much data raise
    :class:`UnsafeArchiveError`. ``source`` is rewound afterwards.
    """
    start = source.tell()
    headers = total = 0
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as stream:
            while True:
                block = stream.read(_BLOCK)
                if len(block) < _BLOCK or not block.strip(b"\x00"):
                    break  # end of archive (tarfile reports truncation itself)
                _check_checksum(block)
                headers += 1
                if headers > 4 * limits.max_members:
                    raise UnsafeArchiveError(
                        f"the archive has more than {limits.max_members} members"
                    )
                kind, size = block[156], _header_size(block)
                name = repr(block[:100].rstrip(b"\x00").decode("utf-8", "replace"))
                if kind == _SPARSE_TYPE:
                    raise UnsafeArchiveError(f"archive member {name} is a GNU sparse file")
                if kind in _EXTENDED_TYPES:
                    if size > limits.max_header_bytes:
                        raise UnsafeArchiveError(
                            f"an extended tar header ({chr(kind)!r}) claims {size} bytes "
                            f"(limit {limits.max_header_bytes})"
                        )
                    data = _read_exact(stream, -(-size // _BLOCK) * _BLOCK)
                    if kind in b"xgX":
                        _check_pax(data[:size], name)
                    continue
                if size > limits.max_member_bytes:
                    raise UnsafeArchiveError(
                        f"archive member {name} is {size} bytes (limit {limits.max_member_bytes})"
                    )
                total += size
                if total > limits.max_total_bytes:
                    raise UnsafeArchiveError(
                        f"the archive unpacks to more than {limits.max_total_bytes} bytes"
                    )
                left = -(-size // _BLOCK) * _BLOCK
                while left:
                    step = _read_exact(stream, min(left, _SKIP_CHUNK))
                    left -= len(step)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnsafeArchiveError(f"the result archive is not a gzip tar: {exc}") from None
    finally:
        source.seek(start)


def _open_tar(source: IO[bytes], limits: ArchiveLimits) -> tarfile.TarFile:
    scan_headers(source, limits)
    try:
        return tarfile.open(fileobj=source, mode="r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnsafeArchiveError(f"the result archive is not a gzip tar: {exc}") from None


def _members(tar: tarfile.TarFile, limits: ArchiveLimits) -> list[tarfile.TarInfo]:
    """Every member, checked: safe names, regular files or directories, bounded sizes."""
    out: list[tarfile.TarInfo] = []
    total = 0
    try:
        while True:
            member = tar.next()
            if member is None:
                break
            if len(out) >= limits.max_members:
                raise UnsafeArchiveError(f"the archive has more than {limits.max_members} members")
            _check_name(member.name)
            if member.issym() or member.islnk():
                raise UnsafeArchiveError(
                    f"archive member {member.name!r} is a link (to {member.linkname!r})"
                )
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(
                    f"archive member {member.name!r} is not a regular file or directory"
                )
            if member.size > limits.max_member_bytes:
                raise UnsafeArchiveError(
                    f"archive member {member.name!r} is {member.size} bytes "
                    f"(limit {limits.max_member_bytes})"
                )
            total += member.size
            if total > limits.max_total_bytes:
                raise UnsafeArchiveError(
                    f"the archive unpacks to more than {limits.max_total_bytes} bytes"
                )
            out.append(member)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnsafeArchiveError(f"the result archive is corrupt: {exc}") from None
    return out


def read_archive(
    source: IO[bytes] | bytes, limits: ArchiveLimits | None = None
) -> dict[str, bytes]:
    """Read the known members (``results.npy``, ``stdout.txt``, ``stderr.txt``) into memory.

    Every member is checked as for extraction (an unsafe member anywhere raises
    :class:`UnsafeArchiveError`); nothing is written to disk. Names are normalised (``./x`` ->
    ``x``); members in subfolders are matched by their full relative path.
    """
    limits = limits or ArchiveLimits()
    stream: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
    with _open_tar(stream, limits) as tar:
        members = _members(tar, limits)
        out: dict[str, bytes] = {}
        for member in members:
            key = str(PurePosixPath(member.name))
            if not member.isfile() or key not in KNOWN_FILES:
                continue
            handle = tar.extractfile(member)
            if handle is None:  # pragma: no cover - regular files always have data
                continue
            with handle:
                data = handle.read(limits.max_member_bytes + 1)
            if len(data) > limits.max_member_bytes:  # pragma: no cover - size was checked
                raise UnsafeArchiveError(f"archive member {member.name!r} is too large")
            out[key] = data
    return out


def extract_archive(
    source: IO[bytes] | bytes, target: str | Path, limits: ArchiveLimits | None = None
) -> list[Path]:
    """Extract the archive into ``target`` (created if needed) and return the written files.

    All members are checked before anything is written: one unsafe member (absolute path, ``..``,
    link, device, oversize) raises :class:`UnsafeArchiveError` and nothing is extracted. The
    extraction itself also uses :mod:`tarfile`'s ``data`` filter, and every destination is
    verified to resolve inside ``target``.
    """
    limits = limits or ArchiveLimits()
    root = Path(target)
    stream: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
    with _open_tar(stream, limits) as tar:
        members = _members(tar, limits)
        root.mkdir(parents=True, exist_ok=True)
        base = root.resolve()
        for member in members:
            dest = (base / member.name).resolve()
            if dest != base and base not in dest.parents:
                raise UnsafeArchiveError(f"archive member {member.name!r} leaves the target")
        try:
            tar.extractall(base, members=members, filter="data")
        except tarfile.FilterError as exc:  # pragma: no cover - our checks are stricter
            raise UnsafeArchiveError(f"refused by the tar data filter: {exc}") from None
    return [base / m.name for m in members if m.isfile()]


@attrs.frozen(slots=True, eq=False)
class QiboResults:
    """What ``results.npy`` holds, validated.

    ``samples`` is ``(shots, measured)`` of 0/1 (column j = the j-th measured qubit) or None;
    ``probabilities`` is over the measured qubits in Qibo's order (column 0 is the most
    significant bit) or None; ``measurements`` are the measurement gates' raw dicts.
    """

    dtype: str
    measurements: tuple[Mapping[str, Any], ...]
    samples: npt.NDArray[np.int64] | None
    probabilities: npt.NDArray[np.float64] | None
    nshots: int | None
    qibo_version: str | None


def parse_results(payload: Mapping[str, Any]) -> QiboResults:
    """Validate the dict loaded from ``results.npy`` (Qibo's ``result.dump`` format)."""
    import json

    dtype = payload.get("dtype")
    if dtype not in ("MeasurementOutcomes", "CircuitResult", "QuantumState"):
        raise MalformedResponseError(
            f"results.npy has an unknown dtype {dtype!r}", provider=PROVIDER
        )
    raw_measurements = payload.get("measurements") or []
    if not isinstance(raw_measurements, list | tuple):
        raise MalformedResponseError("results.npy measurements is not a list", provider=PROVIDER)
    gates: list[Mapping[str, Any]] = []
    for item in raw_measurements:
        try:
            gate = json.loads(item) if isinstance(item, str | bytes) else item
        except ValueError:
            raise MalformedResponseError(
                "results.npy holds a measurement that is not JSON", provider=PROVIDER
            ) from None
        if not isinstance(gate, Mapping):
            raise MalformedResponseError(
                "results.npy holds a measurement that is not an object", provider=PROVIDER
            )
        gates.append(gate)
    samples = payload.get("samples")
    sample_array: npt.NDArray[np.int64] | None = None
    if samples is not None:
        arr = np.asarray(samples)
        if arr.dtype.hasobject or arr.dtype.kind not in "biuf" or arr.ndim != 2:
            raise MalformedResponseError(
                f"results.npy samples must be a 2-d numeric array, got {arr.dtype} {arr.shape}",
                provider=PROVIDER,
            )
        sample_array = arr.astype(np.int64)
        if sample_array.size and not np.isin(sample_array, (0, 1)).all():
            raise MalformedResponseError("results.npy samples are not 0/1", provider=PROVIDER)
    probs = payload.get("probabilities")
    prob_array: npt.NDArray[np.float64] | None = None
    if probs is not None:
        parr = np.asarray(probs)
        if parr.dtype.hasobject or parr.dtype.kind not in "biuf" or parr.ndim != 1:
            raise MalformedResponseError(
                "results.npy probabilities must be a 1-d numeric array", provider=PROVIDER
            )
        prob_array = parr.astype(np.float64)
    nshots = payload.get("nshots")
    shots = int(nshots) if is_int(nshots) or isinstance(nshots, np.integer) else None
    version = payload.get("qibo")
    return QiboResults(
        dtype=str(dtype),
        measurements=tuple(gates),
        samples=sample_array,
        probabilities=prob_array,
        nshots=shots,
        qibo_version=version if isinstance(version, str) else None,
    )


def results_of(members: Mapping[str, bytes], pid: str) -> QiboResults:
    """The validated ``results.npy`` of an archive read by :func:`read_archive`."""
    data = members.get(RESULTS_FILE)
    if data is None:
        raise MalformedResponseError(
            f"the result archive of job {pid} has no {RESULTS_FILE}", provider=PROVIDER
        )
    return parse_results(load_npy_dict(data))


def logs_of(members: Mapping[str, bytes]) -> dict[str, str]:
    """The log files (``stdout.txt``, ``stderr.txt``) of an archive read by
    :func:`read_archive`, decoded (bad bytes replaced)."""
    return {
        name: data.decode("utf-8", errors="replace")
        for name, data in members.items()
        if name != RESULTS_FILE
    }


def check_result_options(source: Any, memory: Any) -> None:
    """InputError for an unknown ``source``, a non-bool ``memory`` or memory without archive."""
    if source not in RESULT_SOURCES:
        raise InputError("source", source, "must be 'auto', 'frequencies' or 'archive'")
    if not isinstance(memory, bool):
        raise InputError("memory", memory, "must be a bool")
    if memory and source == "frequencies":
        raise InputError("memory", memory, "per-shot outcomes come from the archive only")


def _map_of(job: Job) -> MeasurementMap | None:
    """The measurement map of the circuit the job carries (None for a job without one)."""
    circuit = job.details.get("circuit")
    if isinstance(circuit, str):
        try:
            circuit = orjson.loads(circuit)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(circuit, Mapping) or not isinstance(circuit.get("queue"), list):
        return None
    gates = [g for g in circuit["queue"] if isinstance(g, Mapping)]
    return map_from_gates(gates)


def _checked_map(job: Job, mmap: MeasurementMap) -> tuple[MeasurementMap, OutcomeCheck]:
    """The map, once its widths are readable; the check for Qibo's column bitstrings."""
    OutcomeCheck.for_result(mmap.num_clbits, PROVIDER, f"job {job.id} result")
    return mmap, OutcomeCheck.for_result(len(mmap.columns), PROVIDER, f"job {job.id} result")


def from_frequencies(job: Job, freqs: Mapping[str, Any]) -> Result:
    """Counts from the job's ``frequencies``, checked against the submitted circuit."""
    mmap = _map_of(job)
    if mmap is None:  # a job qjobs did not submit: one column per bitstring character
        widths = {len(k) if isinstance(k, str) else -1 for k in freqs}
        mmap = MeasurementMap.identity(widths.pop() if len(widths) == 1 else -1)
    mmap, check = _checked_map(job, mmap)
    counts = check.counts(freqs, shots=job.shots)
    width = len(mmap.columns)
    outcomes: dict[int, int] = {}
    for k, n in counts.items():
        out = mmap.outcome_of(format(k, f"0{width}b") if width else "")
        outcomes[out] = outcomes.get(out, 0) + n
    return Result.from_outcomes(outcomes, mmap.num_clbits, job_id=job.id, job=job)


def _archive_map(job: Job, raw: QiboResults) -> MeasurementMap:
    """The submitted circuit's map; for a job qjobs did not submit, the archive's own."""
    width = raw.samples.shape[1] if raw.samples is not None else None
    submitted = _map_of(job)
    if submitted is not None:
        if width is not None and width != len(submitted.columns):
            raise MalformedResponseError(
                f"job {job.id} returned samples of {width} columns for a circuit measuring "
                f"{len(submitted.columns)} qubits",
                provider=PROVIDER,
            )
        return submitted
    mmap = map_from_gates(raw.measurements) if raw.measurements else None
    if mmap is None or (width is not None and width != len(mmap.columns)):
        if width is None and raw.probabilities is not None:
            width = max(int(raw.probabilities.size).bit_length() - 1, 0)
        mmap = MeasurementMap.identity(width or 0)
    return mmap


def from_archive(job: Job, raw: QiboResults, memory: bool) -> Result:
    """The result from the archive's samples (with per-shot ``memory`` when asked) or, without
    samples, its probabilities (counts for the job's shots)."""
    if raw.samples is None and raw.probabilities is None:
        raise MalformedResponseError(
            f"job {job.id} returned a {raw.dtype} without measurements", provider=PROVIDER
        )
    mmap, check = _checked_map(job, _archive_map(job, raw))
    n = mmap.num_clbits
    if raw.samples is not None:
        outcomes = mmap.apply_samples(raw.samples)
        counts = np.bincount(outcomes, minlength=1 << n)
        shots = int(outcomes.size)
        probs = counts / shots if shots else counts.astype(np.float64)
        mem = outcomes if memory else None
    else:
        assert raw.probabilities is not None
        probs = mmap.apply_probabilities(check.dense(raw.probabilities))
        shots = raw.nshots or job.shots or 0
        counts = counts_from_probabilities(probs, shots)
        mem = None
    return Result(
        counts={
            format(int(k), f"0{n}b") if n else "": int(counts[k]) for k in np.flatnonzero(counts)
        },
        probabilities=probs,
        shots=shots,
        num_clbits=n,
        memory=mem,
        job_id=job.id,
        job=job,
    )
