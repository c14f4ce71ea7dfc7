"""Qiskit on qjobs (the optional extra ``qjobs[qiskit]``): a ``BackendV2`` and a ``SamplerV2``
over the Scheduler.

``get_backend("ionq").run(circuits, shots=1000).result().get_counts()`` runs Qiskit circuits on
any qjobs provider with batching, limits, central polling and an optional ledger, blocking as
Qiskit does, on the background loop of :mod:`qjobs_sync`; ``Sampler(backend).run(pubs)`` binds
parameter arrays in one vectorised pass and runs them as one campaign. Imported on demand only:
``import qjobs`` never imports Qiskit.
"""

from __future__ import annotations

try:
    import qiskit  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("qjobs.qiskit needs Qiskit: pip install 'qjobs[qiskit]'") from exc

from qjobs._core.public import publish as _publish
from qjobs.qiskit._backend import QjobsBackend, get_backend
from qjobs.qiskit._job import QjobsJob
from qjobs.qiskit._sampler import Sampler

__all__ = ["QjobsBackend", "QjobsJob", "Sampler", "get_backend"]

_publish(globals())
