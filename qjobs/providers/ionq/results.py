"""IonQ results: probabilities, per-shot outcomes and measurement maps (part of ``IonQClient``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from yarl import URL

from qjobs._core.errors import (
    ConflictError,
    InputError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._core.models import Job, OutcomeCheck, Result, counts_from_probabilities
from qjobs.providers._base import gather as _gather
from qjobs.providers._base import job_id as _job_id
from qjobs.providers._base import segment
from qjobs.providers.ionq._base import META_MAPS, META_SHOTS, IonQBase, logger
from qjobs.providers.ionq.circuits import MeasurementMap
from qjobs.providers.ionq.models import PROVIDER

__all__ = ["decode_maps", "encode_maps", "probability_dict"]


def encode_maps(maps: Sequence[MeasurementMap]) -> str:
    """The measurement maps of a batch as one string (``*MAP`` when all are equal)."""
    texts = [m.encode() for m in maps]
    if len(texts) > 1 and all(t == texts[0] for t in texts):
        return "*" + texts[0]  # one map shared by every circuit
    return ";".join(texts)


def decode_maps(text: str, count: int) -> list[MeasurementMap] | None:
    """The ``count`` maps :func:`encode_maps` wrote, or None when ``text`` is not such."""
    try:
        if text.startswith("*"):
            return [MeasurementMap.decode(text[1:])] * count
        maps = [MeasurementMap.decode(t) for t in text.split(";")]
    except ValueError:
        return None
    return maps if len(maps) == count else None


def probability_dict(data: Any, what: str) -> Mapping[Any, Any]:
    """The raw ``{outcome: probability}`` object of one circuit (checked later)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError(f"{what} is not an object", provider=PROVIDER)
    return data


#: IonQ keys outcomes by qubit; a key must fit in an int64 whatever the job claims.
_MAX_KEY_BITS: Final = 62


def _qubits_of(job: Job) -> int | None:
    stats = job.details.get("stats")
    width = stats.get("qubits") if isinstance(stats, Mapping) else None
    if isinstance(width, int) and not isinstance(width, bool) and width > 0:
        return width
    return None


def _key_width(job: Job, mm: MeasurementMap) -> int:
    """How many qubit bits an outcome key may have: the job's qubits, at least the map's."""
    top = max((q + 1 for q in mm.sources if q is not None), default=0)
    return min(max(_qubits_of(job) or 0, top), _MAX_KEY_BITS)


class ResultsMixin(IonQBase):
    """Raw probabilities, per-shot outcomes and the :class:`~qjobs.Result` assembly."""

    async def probabilities(
        self, job: Job | str, sharpen: bool | None = None, **params: Any
    ) -> dict[str, Any]:
        """The raw probabilities IonQ returns for a job (decimal-string keys over qubits).

        A multi-circuit job returns ``{child_id: {key: p}}``. ``sharpen`` and any extra query
        parameters are passed through.
        """
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        data = await self._fetch_probabilities(current, sharpen, params)
        if not isinstance(data, dict):
            raise MalformedResponseError("probabilities are not an object", provider=PROVIDER)
        return data

    async def _fetch_probabilities(
        self, job: Job, sharpen: bool | None, params: Mapping[str, Any]
    ) -> Any:
        url = self._result_url(job, "probabilities")
        if url is None:
            suffix = "/aggregated" if job.child_ids else ""
            url = f"jobs/{segment(job.id, 'job')}/results/probabilities{suffix}"
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
        resp = await self._transport.request(
            "GET", self._result_target(url), params=query, route=route
        )
        return resp.json()

    def _result_target(self, url: str) -> str:
        """A result URL from the job, resolved; refused unless it is on the base URL's origin
        (scheme, host and port), so no request (and no token) goes to another host."""
        target = self._resolve(url)
        try:
            same = URL(target).origin() == URL(self.base_url).origin()
        except ValueError:
            same = False
        if not same:
            raise MalformedResponseError(
                f"a result URL points to another origin ({url[:80]!r}); qjobs does not follow it",
                provider=PROVIDER,
            )
        return target

    @staticmethod
    def _result_url(job: Job, kind: str) -> str | None:
        results = job.details.get("results")
        if isinstance(results, Mapping):
            entry = results.get(kind)
            if isinstance(entry, Mapping) and isinstance(entry.get("url"), str):
                return str(entry["url"])
        return None

    def _maps_for(
        self, job: Job, count: int, probs: Sequence[Mapping[Any, Any]]
    ) -> list[MeasurementMap]:
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

    def _shots_of(self, job: Job) -> int:
        text = job.tags.get(META_SHOTS)
        if text is not None and text.isdigit():
            return int(text)
        if job.shots is not None:
            return job.shots
        raise MalformedResponseError(f"job {job.id} has no shot count", provider=PROVIDER)

    async def _fetch_memory(self, job_id: str, url: str | None) -> npt.NDArray[np.int64] | None:
        target = self._result_target(url) if url else f"jobs/{segment(job_id, 'job')}/results/shots"
        try:
            resp = await self._transport.request(
                "GET", target, route="GET /jobs/{id}/results/shots"
            )
        except (NotFoundError, ConflictError, ValidationError) as exc:
            logger.warning("ionq: per-shot outcomes of job %s unavailable: %s", job_id, exc)
            return None
        data = resp.json()
        if not isinstance(data, list):
            raise MalformedResponseError("shots are not a list", provider=PROVIDER)
        check = OutcomeCheck(_MAX_KEY_BITS, PROVIDER, f"job {job_id} shots")
        return np.array([check.number(v) for v in data], dtype=np.int64)

    async def _results_from(self, current: Job, data: Any, memory: bool) -> list[Result]:
        """One :class:`~qjobs.Result` per circuit of ``current`` from its probabilities."""
        shots = self._shots_of(current)
        children: list[str | None]
        if current.child_ids or (
            isinstance(data, Mapping)
            and data
            and all(isinstance(v, Mapping) for v in data.values())
        ):
            if not isinstance(data, Mapping):
                raise MalformedResponseError(
                    "aggregated results are not an object", provider=PROVIDER
                )
            order = list(current.child_ids) or [str(k) for k in data]
            probs = []
            for cid in order:
                if cid not in data:
                    raise MalformedResponseError(
                        f"aggregated results lack child job {cid}", provider=PROVIDER
                    )
                probs.append(probability_dict(data[cid], f"results of child {cid}"))
            children = list(order)
        else:
            probs = [probability_dict(data, "probabilities")]
            children = [None]
        maps = self._maps_for(current, len(probs), probs)
        memories: list[npt.NDArray[np.int64] | None] = [None] * len(probs)
        if memory:
            if children == [None]:
                memories[0] = await self._fetch_memory(
                    current.id, self._result_url(current, "shots")
                )
            else:

                async def fetch(i: int, cid: str) -> None:
                    memories[i] = await self._fetch_memory(cid, None)

                await _gather([partial(fetch, i, str(child)) for i, child in enumerate(children)])
        out: list[Result] = []
        for i, (raw, mm) in enumerate(zip(probs, maps, strict=True)):
            check = OutcomeCheck(_key_width(current, mm), PROVIDER, f"job {current.id} result {i}")
            dense = mm.apply_probabilities(check.probabilities(raw))
            n = mm.num_clbits
            found = memories[i]
            mem = None if found is None else mm.apply(check.samples(found))
            if mem is not None:
                counts_arr = np.bincount(mem, minlength=1 << n).astype(np.int64)
                used_shots = int(mem.size)
            else:
                counts_arr = counts_from_probabilities(dense, shots)
                used_shots = shots
            counts = {
                format(int(k), f"0{n}b") if n else "": int(counts_arr[k])
                for k in np.flatnonzero(counts_arr)
            }
            out.append(
                Result(
                    counts=counts,
                    probabilities=dense,
                    shots=used_shots,
                    num_clbits=n,
                    memory=mem,
                    job_id=current.id,
                    index=i,
                    job=current,
                )
            )
        return out
