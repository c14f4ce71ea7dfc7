"""qjobs results -> one ``qiskit.result.Result``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qjobs._core.models import Result
from qjobs.qiskit._convert import Header

__all__ = ["to_qiskit_result"]


def _experiment(result: Result, header: Header) -> dict[str, Any]:
    # Qiskit's level-2 data keys outcomes by hex integer with clbit 0 least significant: that is
    # qjobs' outcome integer, so counts and memory carry over unchanged.
    data: dict[str, Any] = {
        "counts": {hex(int(key, 2) if key else 0): n for key, n in result.counts.items()}
    }
    if result.memory is not None:
        data["memory"] = [hex(k) for k in result.memory.tolist()]
    return {
        "shots": result.shots,
        "success": True,
        "data": data,
        "header": header.as_dict(),
        "status": "DONE",
    }


def to_qiskit_result(
    results: Sequence[Result],
    headers: Sequence[Header],
    *,
    backend_name: str,
    backend_version: str,
    job_id: str,
) -> Any:
    """The Qiskit ``Result`` of a run: one experiment per circuit, in the order given."""
    from qiskit.result import Result as QiskitResult

    return QiskitResult.from_dict(
        {
            "backend_name": backend_name,
            "backend_version": backend_version,
            "job_id": job_id,
            "success": True,
            "status": "COMPLETED",
            "results": [_experiment(r, h) for r, h in zip(results, headers, strict=True)],
        }
    )
