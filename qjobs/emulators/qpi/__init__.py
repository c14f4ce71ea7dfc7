"""The QPI emulator: qpi-ui's custom REST routes and PocketBase's collection routes.

The names of this package are defined in :mod:`qjobs.emulators.qpi.routes`.
"""

from qjobs.emulators.qpi.routes import STATE_KEY, create_app

__all__ = ["STATE_KEY", "create_app"]
