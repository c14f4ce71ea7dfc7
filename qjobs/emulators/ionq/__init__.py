"""The IonQ v0.4 REST emulator: jobs, results, backends, characterizations and sessions.

The names of this package are defined in :mod:`qjobs.emulators.ionq.routes`.
"""

from qjobs.emulators.ionq.routes import (
    EMULATOR_KEY,
    PREFIX,
    REQUESTS_ROUTE,
    IonQEmulator,
    create_app,
)

__all__ = ["EMULATOR_KEY", "PREFIX", "REQUESTS_ROUTE", "IonQEmulator", "create_app"]
