"""The one call the Qiskit primitives make into qjobs: run circuits, blocking, get results.

:func:`run_circuits` is the seam between the Qiskit layer (Sampler, backend) and the scheduler:
the circuits go to one :class:`~qjobs_sync.Scheduler` (batching, limits, central polling) on the
``qjobs_sync`` background loop, so the call blocks as Qiskit expects and works in a notebook or
inside a running event loop. :class:`Target` names where they run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

import qjobs_sync
from qjobs import Circuit, Result

__all__ = ["Target", "run_circuits"]


@attrs.frozen
class Target:
    """A provider, one of its backends (``None``: the provider's default) and the options given
    to :func:`qjobs.connect` (``token``, ``base_url``, ...) and to the scheduler (``ledger``,
    ``batch_size``, ...)."""

    provider: str
    backend: str | None = None
    connect_options: Mapping[str, Any] = attrs.field(factory=dict)
    scheduler_options: Mapping[str, Any] = attrs.field(factory=dict)


def run_circuits(target: Target, circuits: Sequence[Circuit], shots: int) -> list[Result]:
    """Run ``circuits`` with ``shots`` each as one scheduler campaign on ``target``; block until
    every result is in and return them in order (the first failure is raised)."""
    with (
        qjobs_sync.connect(target.provider, **target.connect_options) as client,
        qjobs_sync.Scheduler(
            client, backend=target.backend, shots=shots, **target.scheduler_options
        ) as scheduler,
    ):
        for circuit in circuits:
            scheduler.submit(circuit)
        return scheduler.gather()
