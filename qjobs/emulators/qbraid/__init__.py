"""The qBraid Quantum Runtime API emulator (``/api/v1``): user, devices, jobs, results, programs.

The names of this package are defined in :mod:`qjobs.emulators.qbraid.routes`.
"""

from qjobs.emulators.qbraid.routes import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
