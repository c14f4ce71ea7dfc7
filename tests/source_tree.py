"""Helpers for the tree tests: what a module's own source defines.

``__module__`` names the public namespace of a published class (``qjobs.providers.ionq``), not
the file that defines it, so "classes of this module" is read from the source.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType


def defined_classes(module: ModuleType) -> list[type]:
    """The classes whose ``class`` statement is at the top level of ``module``'s file."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    return [cls for name in names if inspect.isclass(cls := getattr(module, name))]
