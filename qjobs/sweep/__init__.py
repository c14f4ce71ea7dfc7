"""Parameter sweeps: one template circuit times a numpy grid of parameter values.

The names of this package are defined in :mod:`qjobs.sweep._sweep`; :func:`run_worker` and
:func:`assemble` (many workers sharing a sweep through a PostgreSQL ledger) in
:mod:`qjobs.sweep._workers`; :func:`run_on_dask` (those workers as Dask tasks) in
:mod:`qjobs.sweep._dask`.
"""

from qjobs._core.public import publish as _publish
from qjobs.sweep._dask import run_on_dask
from qjobs.sweep._sweep import MAX_POINTS, Sweep, SweepMode, SweepResult
from qjobs.sweep._workers import assemble, run_worker

__all__ = [
    "MAX_POINTS",
    "Sweep",
    "SweepMode",
    "SweepResult",
    "assemble",
    "run_on_dask",
    "run_worker",
]

_publish(globals())
