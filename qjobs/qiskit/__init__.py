"""Qiskit primitives over the qjobs scheduler (the optional extra ``qjobs[qiskit]``).

``import qjobs`` never imports this package nor Qiskit; importing it needs Qiskit installed.
"""

from __future__ import annotations

from qjobs._core.public import publish as _publish
from qjobs.qiskit._runner import Target, run_circuits
from qjobs.qiskit._sampler import Sampler

__all__ = ["Sampler", "Target", "run_circuits"]

_publish(globals())
