"""The code a user would write without qjobs: blocking stdlib HTTP, one job at a time or a pool.

Both baselines open a new connection per request (``urllib.request.urlopen``, as qiskit-ionq's
``requests.get``/``requests.post`` without a session do), poll each job with a fixed interval
(1 s by default, like the vendor SDKs), then fetch the job's probabilities.

- :func:`run_sequential`: submit, poll until final, fetch; then the next job.
- :func:`run_pool`: the same per-job loop on a pool of worker threads, one job per task
  (what Amazon Braket's ``run_batch`` does with its 10 workers and 1 s polls).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks._workload import ionq_body

__all__ = ["BlockingIonQ", "run_pool", "run_sequential"]

_FINAL = frozenset({"completed", "failed", "canceled", "cancelled"})
_TOKEN = "bench-token"


class BlockingIonQ:
    """A minimal blocking IonQ v0.4 client: one new connection per request, counted."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.requests = 0
        self._lock = threading.Lock()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"apiKey {_TOKEN}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with self._lock:
            self.requests += 1
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    def submit(self, body: dict[str, Any]) -> str:
        """``POST /jobs``; the new job's id."""
        job_id: str = self._call("POST", "jobs", body)["id"]
        return job_id

    def get(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}``."""
        job: dict[str, Any] = self._call("GET", f"jobs/{job_id}")
        return job

    def probabilities(self, job: dict[str, Any]) -> dict[str, float]:
        """The job's probabilities, from the URL the job names (as the SDKs do)."""
        results = job.get("results") or {}
        entry = results.get("probabilities") if isinstance(results, dict) else None
        url = entry.get("url") if isinstance(entry, dict) else None
        if isinstance(url, str) and url.startswith("/"):
            root = self.base_url.split("://", 1)
            url = f"{root[0]}://{root[1].split('/', 1)[0]}{url}"
        probs: dict[str, float] = self._call(
            "GET", url or f"jobs/{job['id']}/results/probabilities"
        )
        return probs

    def run_one(self, body: dict[str, Any], poll: float) -> bool:
        """Submit, poll every ``poll`` seconds until final, fetch; True when results are sane."""
        job_id = self.submit(body)
        job = self.get(job_id)
        while job["status"] not in _FINAL:
            time.sleep(poll)
            job = self.get(job_id)
        if job["status"] != "completed":
            return False
        probs = self.probabilities(job)
        return abs(sum(probs.values()) - 1.0) < 1e-6


def _indices(count: int, total: int) -> list[int]:
    """``count`` indices spread over the ``total`` circuits of the scenario."""
    return [i * total // count for i in range(count)] if count else []


def run_sequential(
    base_url: str, *, count: int, total: int, shots: int, poll: float
) -> dict[str, Any]:
    """One job at a time; returns the jobs run, requests made and sane results."""
    client = BlockingIonQ(base_url)
    ok = sum(client.run_one(ionq_body(i, total, shots), poll) for i in _indices(count, total))
    return {"jobs": count, "circuits": count, "client_requests": client.requests, "results_ok": ok}


def run_pool(
    base_url: str, *, count: int, total: int, shots: int, poll: float, workers: int
) -> dict[str, Any]:
    """``workers`` threads, one job per task; returns the jobs run, requests made, sane results."""
    client = BlockingIonQ(base_url)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(
            pool.map(
                lambda i: client.run_one(ionq_body(i, total, shots), poll), _indices(count, total)
            )
        )
    return {
        "jobs": count,
        "circuits": count,
        "client_requests": client.requests,
        "results_ok": sum(outcomes),
    }
