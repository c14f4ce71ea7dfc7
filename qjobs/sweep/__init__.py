"""Parameter sweeps: one template circuit times a numpy grid of parameter values.

The names of this package are defined in :mod:`qjobs.sweep._sweep`.
"""

from qjobs._core.public import publish as _publish
from qjobs.sweep._sweep import MAX_POINTS, Sweep, SweepMode, SweepResult

__all__ = ["MAX_POINTS", "Sweep", "SweepMode", "SweepResult"]

_publish(globals())
