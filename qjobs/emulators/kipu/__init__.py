"""The Kipu Quantum Hub quantum API emulator: backends, jobs, sessions, workloads, runtime minutes.

The names of this package are defined in :mod:`qjobs.emulators.kipu.routes`.
"""

from qjobs.emulators.kipu.routes import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
