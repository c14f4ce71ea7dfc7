"""The one call the Sampler makes into qjobs: run qjobs circuits on a backend, blocking.

:func:`run_circuits` hands the circuits to one :class:`~qjobs.qiskit._campaign.Campaign` (one
Scheduler on the ``qjobs_sync`` background loop: batching, limits, central polling) on the
backend's client and provider backend, so the call blocks as Qiskit expects and works in a
notebook or inside a running event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qjobs import Circuit, Result
from qjobs.qiskit._campaign import Campaign

if TYPE_CHECKING:
    from qjobs.qiskit._backend import QjobsBackend

__all__ = ["run_circuits"]


def run_circuits(backend: QjobsBackend, circuits: Sequence[Circuit], shots: int) -> list[Result]:
    """Run ``circuits`` with ``shots`` each as one scheduler campaign on ``backend``; block until
    every result is in and return them in order (the first failure is raised)."""
    campaign = Campaign(
        backend.client,
        list(circuits),
        shots=shots,
        memory=False,
        scheduler_options={"backend": backend.entry.name},
    )
    return campaign.outcome()
