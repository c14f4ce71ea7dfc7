"""The Qiskit job ``backend.run`` returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus, JobV1

from qjobs.qiskit._campaign import Campaign, Phase
from qjobs.qiskit._convert import Header
from qjobs.qiskit._results import to_qiskit_result

if TYPE_CHECKING:
    from qjobs.qiskit._backend import QjobsBackend

__all__ = ["QjobsJob"]

_STATUS = {
    Phase.INITIALIZING: JobStatus.INITIALIZING,
    Phase.QUEUED: JobStatus.QUEUED,
    Phase.RUNNING: JobStatus.RUNNING,
    Phase.DONE: JobStatus.DONE,
    Phase.ERROR: JobStatus.ERROR,
    Phase.CANCELLED: JobStatus.CANCELLED,
}


class QjobsJob(JobV1):
    """A Qiskit job: the circuits of one ``backend.run`` on the qjobs Scheduler.

    Its circuits may travel in several provider jobs (:meth:`provider_job_ids`); ``job_id()`` is
    qjobs' own id of the run. :meth:`result` blocks until every circuit is done and raises the
    first failure (a :class:`~qjobs.QJobsError`).
    """

    def __init__(
        self, backend: QjobsBackend, job_id: str, campaign: Campaign, headers: list[Header]
    ) -> None:
        super().__init__(backend, job_id)
        self._campaign = campaign
        self._headers = headers

    def submit(self) -> None:
        """Not used: ``backend.run`` submits the circuits as it makes the job."""
        raise RuntimeError("this job was submitted by backend.run")

    def status(self) -> JobStatus:
        """The Qiskit status of the run: DONE only once every circuit has its result."""
        return _STATUS[self._campaign.phase()]

    def cancel(self) -> None:
        """Cancel the run's unfinished provider jobs and pending circuits (blocks until done)."""
        self._campaign.cancel()

    def provider_job_ids(self) -> list[str | None]:
        """The provider job of each circuit, in circuit order (None while not submitted)."""
        return self._campaign.provider_job_ids()

    def result(self, timeout: float | None = None) -> Any:
        """The ``qiskit.result.Result`` of every circuit, in the order they were run."""
        results = self._campaign.outcome(timeout)
        backend = self.backend()
        return to_qiskit_result(
            results,
            self._headers,
            backend_name=backend.name,
            backend_version=str(backend.backend_version),
            job_id=self.job_id(),
        )
