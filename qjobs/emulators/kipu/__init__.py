"""The Kipu Quantum Hub quantum API emulator: backends, jobs, sessions, workloads, runtime minutes.

Its parts: ``app`` (the aiohttp app: auth, route table), ``routes`` (the handlers), ``state``
(jobs and sessions), ``wire`` (credentials, problem JSON, job inputs, backend catalogue).
"""

from qjobs.emulators.kipu.app import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
