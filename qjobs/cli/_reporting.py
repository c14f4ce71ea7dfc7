"""How the ``jobs`` and ``ledger`` commands end: one stderr line and the exit status.

The statuses are ``qjobs sweep``'s: 2 for bad input (an argument, a missing or unreadable
ledger, missing credentials, a job id the provider does not know), 1 when the provider or a job
fails, 130 on Ctrl-C. No traceback is ever shown; messages never hold a token (the transport
redacts its own, and nothing here prints a credential).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from qjobs._core.errors import (
    CredentialsError,
    InputError,
    LedgerError,
    NotFoundError,
    QJobsError,
    ValidationError,
)

__all__ = ["OneLineParser", "UsageError", "one_line", "report"]


class UsageError(Exception):
    """A command given wrong or missing arguments; its message is the whole story (status 2)."""


#: Errors caused by what the user gave: exit status 2.
_BAD_INPUT = (
    UsageError,
    InputError,
    LedgerError,
    CredentialsError,
    NotFoundError,
    ValidationError,
)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one stderr line (status 2), not the usage."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: message (see 'prog --help')`` and exit with status 2."""
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` and its notes on one line."""
    parts = [str(exc), *getattr(exc, "__notes__", ())]
    return " ".join(" ".join(parts).split())


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside nested exception groups (a task group's wrapping)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def report(prog: str, call: Callable[[], int]) -> int:
    """Run ``call`` and return its status; an error becomes one stderr line and its status."""
    try:
        try:
            return call()
        except BaseExceptionGroup as group:
            raise _leaf(group) from None
    except _BAD_INPUT as exc:
        message, code = f"{prog}: {one_line(exc)}", 2
    except QJobsError as exc:
        message, code = f"{prog}: failed: {type(exc).__name__}: {one_line(exc)}", 1
    except OSError as exc:  # e.g. the .npz cannot be written
        message, code = f"{prog}: failed: {one_line(exc)}", 1
    except KeyboardInterrupt:
        message, code = f"{prog}: interrupted", 130
    print(message, file=sys.stderr)
    return code
