"""Public names report the namespace users import them from (``qjobs.InputError``).

Every public namespace of ``qjobs`` ends with ``publish(globals())``: the classes and functions
in its ``__all__`` that are defined in a module of ``qjobs`` get that namespace as
``__module__``, so reprs, tracebacks and pickles name ``qjobs.InputError`` rather than the
private module that defines it. A name exported by several namespaces keeps the shortest one
(``qjobs.Scheduler``, not ``qjobs.scheduler.Scheduler``), whatever order they are imported in.
Pickles still resolve: the name is an attribute of the namespace it now reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["publish"]

#: The namespaces that called :func:`publish`.
PUBLISHED: set[str] = set()


def _is_ours(module: str) -> bool:
    return module == "qjobs" or module.startswith("qjobs.")


def _keeps(current: str, namespace: str) -> bool:
    """True when ``current`` is a published namespace no longer than ``namespace``."""
    return current in PUBLISHED and current.count(".") <= namespace.count(".")


def publish(namespace: Mapping[str, Any]) -> None:
    """Report the names in ``namespace["__all__"]`` as defined in ``namespace["__name__"]``."""
    name = namespace["__name__"]
    PUBLISHED.add(name)
    for export in namespace.get("__all__", ()):
        obj = namespace.get(export)
        if not (isinstance(obj, type) or callable(obj)) or not hasattr(obj, "__qualname__"):
            continue
        current = getattr(obj, "__module__", None)
        if not isinstance(current, str) or not _is_ours(current) or _keeps(current, name):
            continue
        if isinstance(obj, type) and attrs.has(obj):
            # string annotations are resolved in the defining module, before it is renamed
            attrs.resolve_types(obj)
        obj.__module__ = name
