"""The qBraid Quantum Runtime API emulator (``/api/v1``): user, devices, jobs, results, programs.

Its parts: ``app`` (the aiohttp app: auth, route table), ``routes`` (the handlers), ``state``
(devices, jobs, groups), ``wire`` (credentials, error bodies).
"""

from qjobs.emulators.qbraid.app import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
