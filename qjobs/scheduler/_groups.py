"""One exception out of an anyio task group's ``BaseExceptionGroup``.

Task groups wrap whatever their tasks raise in a group, even a single error. Callers of the
scheduler (and the CLI) want the error itself: :func:`collapse` returns the one that caused the
stop, with any other distinct errors described in its ``__notes__``.
"""

from __future__ import annotations

import anyio

from qjobs._core.errors import QJobsError

__all__ = ["collapse"]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc))
        elif not any(exc is seen for seen in out):
            out.append(exc)
    return out


def _rank(exc: BaseException) -> int:
    """Lower is more meaningful: interrupts first, then qjobs errors, other errors, cancellation."""
    if isinstance(exc, anyio.get_cancelled_exc_class()):
        return 3
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
        return 0
    return 1 if isinstance(exc, QJobsError) else 2


def collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The most meaningful error in ``group`` (the first of its rank), others in its notes.

    Rank: ``KeyboardInterrupt``/``SystemExit`` (never hidden), then qjobs errors, then other
    exceptions, then cancellation (returned only when the group holds nothing else, so a
    cancellation is never swallowed). Errors equal in type and message are mentioned once.
    """
    leaves = _leaves(group)
    if not leaves:  # pragma: no cover - groups are never empty
        return group
    chosen = min(leaves, key=_rank)  # min is stable: the first of the best rank
    seen = {(type(chosen), str(chosen))}
    for other in leaves:
        sig = (type(other), str(other))
        if other is chosen or _rank(other) == 3 or sig in seen:
            continue
        seen.add(sig)
        chosen.add_note(f"also raised: {type(other).__name__}: {other}")
    return chosen
