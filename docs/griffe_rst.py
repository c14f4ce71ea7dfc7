"""A griffe extension for the docs site: the reST bits of qjobs' docstrings, shown as Markdown.

The docstrings cross-reference with Sphinx roles (``:class:`Scheduler```, ``:func:`~x.serve```)
and introduce literal blocks with ``::``. mkdocstrings reads Markdown, so each role becomes inline
code (``~`` keeps the last dotted part, as Sphinx does) and a closing ``::`` becomes ``:``. The
docstrings themselves stay as they are. Loaded by mkdocs.yml; not part of the qjobs package.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"::$", re.MULTILINE)


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    if match.group(1):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def to_markdown(text: str) -> str:
    """``text`` with Sphinx roles as inline code and ``::`` blocks introduced by ``:``."""
    return _LITERAL.sub(":", _ROLE.sub(_role, text))


class RstRoles(griffe.Extension):
    """Rewrites every docstring loaded for the docs site with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by griffe for each object it loads."""
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
