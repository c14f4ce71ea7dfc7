"""Checks made when a ledger file is opened: is the path usable, is the file a qjobs ledger.

Each failure is a :class:`~qjobs.LedgerError` naming the path and saying what to do, raised
before the file is changed in any way (a SQLite file of another program is never written to).
"""

from __future__ import annotations

import os
import sqlite3

from qjobs._core.errors import LedgerError

__all__ = ["check_contents", "check_path", "ledger_error"]

_ADVICE = "move it aside or choose another ledger path"


def ledger_error(path: str, problem: str, advice: str = _ADVICE) -> LedgerError:
    """A :class:`LedgerError` for ``path``: what is wrong, then what to do."""
    return LedgerError(f"ledger {path!r} {problem}; {advice}")


def check_path(path: str) -> None:
    """Raise :class:`LedgerError` when ``path`` cannot hold a ledger file."""
    if os.path.isdir(path):
        raise ledger_error(
            path, "is a directory", "give the path of a file, e.g. " + os.path.join(path, "run.db")
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ledger_error(
            path, f"cannot be created: the folder {folder!r} does not exist", "create it first"
        )


def check_contents(conn: sqlite3.Connection, path: str, version: str) -> None:
    """Raise :class:`LedgerError` unless the open file is empty or a qjobs ledger of ``version``.

    Only reads: a garbage file fails here with SQLite's "file is not a database".
    """
    try:
        tables = sorted(name for (name,) in conn.execute("SELECT name FROM sqlite_master"))
    except sqlite3.DatabaseError as exc:
        raise ledger_error(path, f"is not a qjobs ledger (not a SQLite database: {exc})") from None
    if not tables:
        return  # a new (or empty) file: the schema is created next
    try:
        found = conn.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
    except sqlite3.DatabaseError:
        found = None
    if found is None:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise ledger_error(path, f"is not a qjobs ledger (a SQLite file holding {shown})")
    if found[0] != version:
        if found[0] == "1":
            why = (
                "was written by an older qjobs whose keys do not name the provider and "
                "endpoint, so its results cannot be told apart by target and are not reused"
            )
        else:
            why = f"is a qjobs ledger of format {found[0]!r}; this qjobs reads format {version!r}"
        raise ledger_error(
            path,
            why,
            "finish that run with the qjobs that wrote it, or move the file aside (or choose "
            "another ledger path) to start a new ledger",
        )
