"""The Qibo cloud REST emulator (the protocol of qibo-client 0.2.x).

The names of this package are defined in :mod:`qjobs.emulators.qibo.routes`.
"""

from qjobs.emulators.qibo.routes import EMULATOR_KEY, PREFIX, PROJECTS, QiboEmulator, create_app

__all__ = ["EMULATOR_KEY", "PREFIX", "PROJECTS", "QiboEmulator", "create_app"]
