"""Plain output of the ``jobs`` and ``ledger`` commands: aligned tables, or JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["print_json", "print_table"]


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, stream: IO[str] | None = None
) -> None:
    """Print ``rows`` under ``headers``, each column padded to its widest cell (None as ``-``)."""
    out = sys.stdout if stream is None else stream
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def print_json(data: Any, *, stream: IO[str] | None = None) -> None:
    """Print ``data`` as indented JSON (dates and other objects as strings)."""
    out = sys.stdout if stream is None else stream
    print(json.dumps(data, indent=2, default=str), file=out)
