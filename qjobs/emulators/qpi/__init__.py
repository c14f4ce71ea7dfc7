"""The QPI emulator: qpi-ui's custom REST routes and PocketBase's collection routes.

Its parts: ``app`` (the aiohttp app: route tables), ``routes`` (the handlers and caller
resolution), ``state`` (users, tokens, QPUs, jobs), ``wire`` (error bodies, query parameters,
PocketBase records and filters).
"""

from qjobs.emulators.qpi.app import STATE_KEY, create_app

__all__ = ["STATE_KEY", "create_app"]
