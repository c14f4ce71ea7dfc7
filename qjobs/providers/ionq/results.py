"""IonQ results: measurement maps in job metadata, result URLs, and the :class:`~qjobs.Result`
assembly from probabilities and per-shot outcomes.

Everything here is pure (no I/O): the client fetches, these functions read what it fetched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from yarl import URL

from qjobs._core.errors import InputError, JobError, MalformedResponseError
from qjobs._core.models import Job, OutcomeCheck, Result
from qjobs._core.validation import is_int, is_mapping
from qjobs.providers._base import segment
from qjobs.providers.ionq.circuits import MeasurementMap
from qjobs.providers.ionq.config import META_MAPS, META_SHOTS, PROVIDER

__all__ = [
    "build_results",
    "cache_key",
    "check_has_results",
    "compiled_artifact_ids",
    "decode_maps",
    "encode_maps",
    "maps_for",
    "memory_from",
    "probabilities_request",
    "probability_dict",
    "resolve_url",
    "result_target",
    "result_url",
    "shots_of",
    "shots_target",
    "split_probabilities",
]

#: IonQ keys outcomes by qubit; a key must fit in an int64 whatever the job claims.
_MAX_KEY_BITS: Final = 62
#: An API version path segment: ``v0``, ``v0.4``, ``v1.2.3``.
_VERSION_SEGMENT: Final = re.compile(r"^v\d+(\.\d+)*$")


# ------------------------------------------------------------------ measurement maps (metadata)
def encode_maps(maps: Sequence[MeasurementMap]) -> str:
    """The measurement maps of a batch as one string (``*MAP`` when all are equal)."""
    return _encoded(tuple(maps))


def decode_maps(text: str, count: int) -> list[MeasurementMap] | None:
    """The ``count`` maps :func:`encode_maps` wrote, or None when ``text`` is not such."""
    maps = _decoded(text, count)
    return None if maps is None else list(maps)


# Jobs of one scheduler mostly share a few circuit shapes: their map texts are worked out once.
@functools.lru_cache(maxsize=256)
def _encoded(maps: tuple[MeasurementMap, ...]) -> str:
    texts = [m.encode() for m in maps]
    if len(texts) > 1 and all(t == texts[0] for t in texts):
        return "*" + texts[0]  # one map shared by every circuit
    return ";".join(texts)


@functools.lru_cache(maxsize=256)
def _decoded(text: str, count: int) -> tuple[MeasurementMap, ...] | None:
    try:
        if text.startswith("*"):
            return (MeasurementMap.decode(text[1:]),) * count
        maps = tuple(MeasurementMap.decode(t) for t in text.split(";"))
    except ValueError:
        return None
    return maps if len(maps) == count else None


# ------------------------------------------------------------------------------ result URLs
def resolve_url(base_url: str, url: str) -> str:
    """Resolve a URL from a response (IonQ sends ``/v0.4/jobs/...``) against ``base_url``.

    An absolute URL is used as is; a path starting with the base URL's path is taken from
    the origin; a path starting with a version segment (``/v0.4/...``) replaces the base
    URL's version (so a base behind a prefix, ``http://h/ionq/v0.4``, keeps its prefix);
    any other path is origin-relative, and a relative one is base-relative.
    """
    if url.startswith(("http://", "https://")):
        return url
    if not url.startswith("/"):
        return base_url + "/" + url
    origin, path = _origin_and_path(base_url)
    if path and (url == path or url.startswith(path + "/")):
        return origin + url
    first = url.split("/", 2)[1]
    prefix, _, last = path.rpartition("/")
    if _VERSION_SEGMENT.match(first) and _VERSION_SEGMENT.match(last):
        return origin + prefix + url
    return origin + url


@functools.lru_cache(maxsize=64)
def _origin_and_path(base_url: str) -> tuple[str, str]:
    """The origin (no trailing slash) and the path (no trailing slash) of a base URL."""
    base = URL(base_url)
    return str(base.origin()).rstrip("/"), base.path.rstrip("/")


def result_target(base_url: str, url: str) -> str:
    """A result URL from the job, resolved; refused unless it is on the base URL's origin
    (scheme, host and port), so no request (and no token) goes to another host."""
    target = resolve_url(base_url, url)
    # A target spelled as the base URL's origin then "/" is on it (the common case: IonQ sends
    # a path); anything else is parsed and compared.
    same = target.startswith(_origin_and_path(base_url)[0] + "/")
    if not same:
        try:
            same = URL(target).origin() == URL(base_url).origin()
        except ValueError:
            same = False
    if not same:
        raise MalformedResponseError(
            f"a result URL points to another origin ({url[:80]!r}); qjobs does not follow it",
            provider=PROVIDER,
        )
    return target


def result_url(job: Job, kind: str) -> str | None:
    """The URL of the job's ``kind`` results (``probabilities``, ``shots``) if the job has one."""
    results = job.details.get("results")
    if is_mapping(results):
        entry = results.get(kind)
        if is_mapping(entry) and isinstance(entry.get("url"), str):
            return str(entry["url"])
    return None


def probabilities_request(
    base_url: str, job: Job, sharpen: bool | None, params: Mapping[str, Any]
) -> tuple[str, dict[str, Any], str]:
    """Target, query and route of the probabilities of ``job`` (aggregated for a batch)."""
    url = result_url(job, "probabilities")
    if url is None:
        suffix = "/aggregated" if job.child_ids else ""
        url = f"jobs/{segment(job.id, 'job')}/results/probabilities{suffix}"
    target = result_target(base_url, url)
    query: dict[str, Any] = dict(params)
    if sharpen is not None:
        if not isinstance(sharpen, bool):
            raise InputError("sharpen", sharpen, "must be a bool or None")
        query["sharpen"] = sharpen
    route = (
        "GET /jobs/{id}/results/probabilities/aggregated"
        if job.child_ids
        else "GET /jobs/{id}/results/probabilities"
    )
    return target, query, route


def shots_target(base_url: str, job_id: str, url: str | None) -> str:
    """Where the per-shot outcomes of ``job_id`` are: its ``url`` (checked) or the default path."""
    return result_target(base_url, url) if url else f"jobs/{segment(job_id, 'job')}/results/shots"


# ------------------------------------------------------------------------ what may be read
def check_has_results(job: Job) -> None:
    """:class:`~qjobs.JobError` for a dry run (a completed job that has no results)."""
    if job.details.get("dry_run") is True or job.details.get("results", 0) is None:
        raise JobError(
            f"ionq job {job.id} has no results (dry run); "
            "compiled_circuits() fetches what it compiled to",
            job_id=job.id,
            provider=PROVIDER,
        )


def cache_key(
    job_id: str, sharpen: bool | None, memory: bool, params: Mapping[str, Any]
) -> tuple[Any, ...]:
    """The key of one ``results()`` call in the client's cache (the job id comes first)."""
    return (job_id, sharpen, memory, tuple(sorted((k, str(v)) for k, v in params.items())))


def compiled_artifact_ids(job: Job) -> dict[str, str]:
    """``{format: artifact_id}`` of what ``job`` was compiled to (``{}`` when it says nothing)."""
    output = job.details.get("output")
    compilation = output.get("compilation") if isinstance(output, Mapping) else None
    compiled = compilation.get("compiled_circuits") if isinstance(compilation, Mapping) else None
    if compiled is None:
        return {}
    if not isinstance(compiled, Mapping):
        raise MalformedResponseError("compiled_circuits is not an object", provider=PROVIDER)
    wanted: dict[str, str] = {}
    for fmt, entry in compiled.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise MalformedResponseError(
                f"compiled circuit {fmt!r} has no artifact id", provider=PROVIDER
            )
        wanted[str(fmt)] = entry["id"]
    return wanted


# ------------------------------------------------------------------------------- assembly
def probability_dict(data: Any, what: str) -> Mapping[Any, Any]:
    """The raw ``{outcome: probability}`` object of one circuit (checked later)."""
    if not is_mapping(data):
        raise MalformedResponseError(f"{what} is not an object", provider=PROVIDER)
    return data


def split_probabilities(job: Job, data: Any) -> tuple[list[Mapping[Any, Any]], list[str | None]]:
    """Each circuit's raw probabilities, and its child job id (``[None]`` for one circuit).

    A batch answers ``{child_id: {key: p}}``; its circuits follow ``job.child_ids`` when the job
    lists them, else the answer's order.
    """
    if not (
        job.child_ids or (is_mapping(data) and data and all(is_mapping(v) for v in data.values()))
    ):
        return [probability_dict(data, "probabilities")], [None]
    if not is_mapping(data):
        raise MalformedResponseError("aggregated results are not an object", provider=PROVIDER)
    order = list(job.child_ids) or [str(k) for k in data]
    probs = []
    for cid in order:
        if cid not in data:
            raise MalformedResponseError(
                f"aggregated results lack child job {cid}", provider=PROVIDER
            )
        probs.append(probability_dict(data[cid], f"results of child {cid}"))
    return probs, list(order)


def _qubits_of(job: Job) -> int | None:
    stats = job.details.get("stats")
    width = stats.get("qubits") if is_mapping(stats) else None
    return width if is_int(width, low=1) else None


def _key_width(job: Job, mm: MeasurementMap) -> int:
    """How many qubit bits an outcome key may have: the job's qubits, at least the map's."""
    top = max((q + 1 for q in mm.sources if q is not None), default=0)
    return min(max(_qubits_of(job) or 0, top), _MAX_KEY_BITS)


def maps_for(job: Job, count: int, probs: Sequence[Mapping[Any, Any]]) -> list[MeasurementMap]:
    """The submitted circuits' maps (job metadata), each at most ``MAX_RESULT_CLBITS`` wide."""
    text = job.tags.get(META_MAPS)
    maps = decode_maps(text, count) if text is not None else None
    if maps is None:
        # A job qjobs did not submit: outcomes over every qubit IonQ reports.
        maps = []
        for p in probs:
            width = _qubits_of(job)
            if width is None:
                check = OutcomeCheck(_MAX_KEY_BITS, PROVIDER, f"job {job.id} probabilities")
                width = max((check.number(k).bit_length() for k in p), default=1)
            maps.append(MeasurementMap.identity(max(width, 1)))
    for mm in maps:
        OutcomeCheck.for_result(mm.num_clbits, PROVIDER, f"job {job.id} result")
    return maps


def shots_of(job: Job) -> int:
    """The shots ``job`` was submitted with (its metadata first, then IonQ's field)."""
    text = job.tags.get(META_SHOTS)
    if text is not None and text.isdigit():
        return int(text)
    if job.shots is not None:
        return job.shots
    raise MalformedResponseError(f"job {job.id} has no shot count", provider=PROVIDER)


def memory_from(job_id: str, data: Any) -> npt.NDArray[np.int64]:
    """The per-shot outcomes (qubit keys) of ``results/shots``, checked to fit an int64."""
    if not isinstance(data, list):
        raise MalformedResponseError("shots are not a list", provider=PROVIDER)
    check = OutcomeCheck(_MAX_KEY_BITS, PROVIDER, f"job {job_id} shots")
    return np.array([check.number(v) for v in data], dtype=np.int64)


def build_results(
    job: Job,
    probs: Sequence[Mapping[Any, Any]],
    maps: Sequence[MeasurementMap],
    memories: Sequence[npt.NDArray[np.int64] | None],
    shots: int,
) -> list[Result]:
    """One :class:`~qjobs.Result` per circuit, over its classical bits (its map applied).

    Counts come from the per-shot outcomes when there are some, else from the probabilities
    (largest remainder, summing to exactly ``shots``).
    """
    out: list[Result] = []
    for i, (raw, mm, found) in enumerate(zip(probs, maps, memories, strict=True)):
        check = OutcomeCheck(_key_width(job, mm), PROVIDER, f"job {job.id} result {i}")
        dense = mm.apply_probabilities(check.probabilities(raw))
        if found is None:
            out.append(Result.from_probabilities(dense, shots, job_id=job.id, index=i, job=job))
            continue
        n = mm.num_clbits
        mem = mm.apply(check.samples(found))
        counts_arr = np.bincount(mem, minlength=1 << n).astype(np.int64)
        counts = {
            format(int(k), f"0{n}b") if n else "": int(counts_arr[k])
            for k in np.flatnonzero(counts_arr)
        }
        out.append(
            Result(
                counts=counts,
                probabilities=dense,
                shots=int(mem.size),
                num_clbits=n,
                memory=mem,
                job_id=job.id,
                index=i,
                job=job,
            )
        )
    return out
