"""The IonQ v0.4 REST emulator: jobs, results, backends, characterizations and sessions.

Its parts: ``app`` (the aiohttp app: auth, route table), ``routes`` (the handlers), ``state``
(jobs, sessions, the request log), ``wire`` (credentials, error bodies, result shapes).
"""

from qjobs.emulators.ionq.app import EMULATOR_KEY, PREFIX, REQUESTS_ROUTE, create_app
from qjobs.emulators.ionq.routes import IonQEmulator

__all__ = ["EMULATOR_KEY", "PREFIX", "REQUESTS_ROUTE", "IonQEmulator", "create_app"]
