"""The ``qjobs`` command.

The names of this package are defined in :mod:`qjobs.cli._main`.
"""

from qjobs._core.public import publish as _publish
from qjobs.cli._main import build_parser, main

__all__ = ["build_parser", "main"]

_publish(globals())
