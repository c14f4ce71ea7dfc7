"""IonQ batch status, job artifacts and compiled circuits (part of ``IonQClient``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from qjobs._core.errors import JobError, MalformedResponseError
from qjobs._core.models import Job, JobStatus
from qjobs.providers._base import gather as _gather
from qjobs.providers._base import job_id as _job_id
from qjobs.providers._base import segment
from qjobs.providers.ionq._base import IonQBase
from qjobs.providers.ionq._base import check_name as _name
from qjobs.providers.ionq.models import PROVIDER, BatchStatus

__all__ = ["ArtifactsMixin"]


class ArtifactsMixin(IonQBase):
    """A multi-circuit job's children, artifacts and what a job was compiled to."""

    async def batch_status(self, job: Job | str) -> BatchStatus:
        """The parent and every child of a multi-circuit job, fetched now.

        One ``GET /jobs/{id}`` for the parent, then the children through the batched
        ``GET /jobs?ids=`` (``status_batch_size`` ids per request), in circuit order. A job without
        children is its own single child. See :class:`BatchStatus` for the summary numbers.
        """
        parent = await self.get_job(_job_id(job))
        children = await self.get_jobs(list(parent.child_ids)) if parent.child_ids else [parent]
        return BatchStatus(job=parent, children=tuple(children))

    # --------------------------------------------------------------------------- artifacts
    async def artifact(self, job: Job | str, artifact_id: str, **params: Any) -> Any:
        """One job artifact (``GET /jobs/{id}/artifacts/{artifact_id}``), extra query passed on.

        JSON bodies are decoded; ``text/*`` bodies are returned as ``str`` and anything else
        (``application/octet-stream``) as ``bytes``.
        """
        jid = _job_id(job)
        aid = _name(artifact_id, "artifact_id")
        resp = await self._transport.request(
            "GET",
            f"jobs/{segment(jid)}/artifacts/{segment(aid)}",
            params=params or None,
            route="GET /jobs/{id}/artifacts/{artifact_id}",
        )
        media = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return resp.json()
        if media.startswith("text/"):
            return resp.text
        if not media:
            try:
                return resp.json()
            except MalformedResponseError:
                return resp.content
        return resp.content

    async def compiled_circuits(self, job: Job | str) -> dict[str, Any]:
        """What a completed job (typically a ``dry_run``) was compiled to, by format.

        Reads ``output.compilation.compiled_circuits`` of the job (fetched again unless it is
        final) and downloads each artifact concurrently: ``{"ionq.circuit.v1": {...}}``. A job
        that is not completed raises :class:`~qjobs.JobError`; a completed one without compiled
        circuits gives ``{}``.
        """
        current = job if isinstance(job, Job) and job.is_final else await self.get_job(_job_id(job))
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"ionq job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        output = current.details.get("output")
        compilation = output.get("compilation") if isinstance(output, Mapping) else None
        compiled = (
            compilation.get("compiled_circuits") if isinstance(compilation, Mapping) else None
        )
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
        out: dict[str, Any] = {}

        async def fetch(fmt: str, artifact_id: str) -> None:
            out[fmt] = await self.artifact(current.id, artifact_id)

        await _gather([partial(fetch, fmt, aid) for fmt, aid in wanted.items()])
        return {fmt: out[fmt] for fmt in wanted}
