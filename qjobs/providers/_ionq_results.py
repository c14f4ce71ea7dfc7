"""IonQ results: probabilities, per-shot outcomes and measurement maps (part of ``IonQClient``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from qjobs._errors import (
    ConflictError,
    InputError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._models import Job, Result
from qjobs.codecs import ionq as codec
from qjobs.codecs.ionq import MeasurementMap
from qjobs.providers._base import gather as _gather
from qjobs.providers._base import job_id as _job_id
from qjobs.providers._base import segment
from qjobs.providers._ionq_base import META_MAPS, META_SHOTS, IonQBase, logger
from qjobs.providers._ionq_models import PROVIDER

__all__ = ["ResultsMixin", "decode_maps", "encode_maps", "probability_dict"]


def encode_maps(maps: Sequence[MeasurementMap]) -> str:
    texts = [m.encode() for m in maps]
    if len(texts) > 1 and all(t == texts[0] for t in texts):
        return "*" + texts[0]  # one map shared by every circuit
    return ";".join(texts)


def decode_maps(text: str, count: int) -> list[MeasurementMap] | None:
    try:
        if text.startswith("*"):
            return [MeasurementMap.decode(text[1:])] * count
        maps = [MeasurementMap.decode(t) for t in text.split(";")]
    except ValueError:
        return None
    return maps if len(maps) == count else None


def probability_dict(data: Any, what: str) -> dict[int, float]:
    if not isinstance(data, Mapping):
        raise MalformedResponseError(f"{what} is not an object", provider=PROVIDER)
    out: dict[int, float] = {}
    for key, value in data.items():
        try:
            k = int(key)
            p = float(value)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                f"{what} has a bad entry {key!r}: {value!r}", provider=PROVIDER
            ) from None
        if k < 0:
            raise MalformedResponseError(f"{what} has a negative outcome {k}", provider=PROVIDER)
        out[k] = out.get(k, 0.0) + p
    return out


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
        resp = await self._transport.request("GET", self._resolve(url), params=query, route=route)
        return resp.json()

    @staticmethod
    def _result_url(job: Job, kind: str) -> str | None:
        results = job.details.get("results")
        if isinstance(results, Mapping):
            entry = results.get(kind)
            if isinstance(entry, Mapping) and isinstance(entry.get("url"), str):
                return str(entry["url"])
        return None

    def _maps_for(
        self, job: Job, count: int, probs: Sequence[Mapping[int, float]]
    ) -> list[MeasurementMap]:
        text = job.tags.get(META_MAPS)
        if text is not None:
            maps = decode_maps(text, count)
            if maps is not None:
                return maps
        # A job qjobs did not submit: outcomes over every qubit IonQ reports.
        stats = job.details.get("stats")
        width = stats.get("qubits") if isinstance(stats, Mapping) else None
        out = []
        for p in probs:
            n = width if isinstance(width, int) and width > 0 else 0
            top = max(p, default=0)
            n = max(n, int(top).bit_length(), 1)
            out.append(MeasurementMap.identity(n))
        return out

    def _shots_of(self, job: Job) -> int:
        text = job.tags.get(META_SHOTS)
        if text is not None and text.isdigit():
            return int(text)
        if job.shots is not None:
            return job.shots
        raise MalformedResponseError(f"job {job.id} has no shot count", provider=PROVIDER)

    async def _fetch_memory(self, job_id: str, url: str | None) -> npt.NDArray[np.int64] | None:
        target = self._resolve(url) if url else f"jobs/{segment(job_id, 'job')}/results/shots"
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
        try:
            return np.array([int(v) for v in data], dtype=np.int64)
        except (TypeError, ValueError):
            raise MalformedResponseError("shots hold a non-integer", provider=PROVIDER) from None

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
        for i, (p, mm) in enumerate(zip(probs, maps, strict=True)):
            dense = mm.apply_probabilities(p)
            n = mm.num_clbits
            mem = None if memories[i] is None else mm.apply(memories[i])  # type: ignore[arg-type]
            if mem is not None:
                counts_arr = np.bincount(mem, minlength=1 << n).astype(np.int64)
                used_shots = int(mem.size)
            else:
                counts_arr = codec.counts_from_probabilities(dense, shots)
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
