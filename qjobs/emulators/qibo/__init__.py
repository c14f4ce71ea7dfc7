"""The Qibo cloud REST emulator (the protocol of qibo-client 0.2.x).

Its parts: ``app`` (the aiohttp app: auth, route table), ``routes`` (the handlers), ``state``
(projects, quotas, users, jobs), ``wire`` (credentials, error bodies, circuit JSON).
"""

from qjobs.emulators.qibo.app import EMULATOR_KEY, PREFIX, create_app
from qjobs.emulators.qibo.routes import QiboEmulator
from qjobs.emulators.qibo.state import PROJECTS

__all__ = ["EMULATOR_KEY", "PREFIX", "PROJECTS", "QiboEmulator", "create_app"]
