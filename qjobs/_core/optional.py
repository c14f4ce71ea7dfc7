"""Optional packages (pandas, xarray, matplotlib, the circuit frameworks), imported on first use.

``import qjobs`` never loads them; the function that needs one calls :func:`require`, which
raises an :class:`ImportError` naming the ``qjobs[...]`` extra to install when it is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["require"]


def require(module: str, extra: str) -> Any:
    """Import ``module`` (typed ``Any``), or raise ImportError saying to install ``qjobs[extra]``.

    Only the absence of ``module`` itself (or of its top-level package) becomes that message;
    a package that is installed but fails while importing raises its own error unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.partition(".")[0]
        if exc.name is None or exc.name.partition(".")[0] != top:
            raise
        raise ImportError(
            f"{top} is needed for this and is not installed: pip install 'qjobs[{extra}]'"
        ) from exc
