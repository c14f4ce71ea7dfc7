"""One scheduler per ledger: an exclusive OS file lock on a sibling ``<ledger>.lock`` file.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on POSIX (``msvcrt.locking`` on Windows), taken when the
ledger opens and held until it closes. ``flock`` locks belong to an open file description, so a
second scheduler in the same process conflicts exactly like one in another process, and the OS
drops the lock when its holder dies, even by SIGKILL: a crashed run never leaves a stale lock.
The lock file holds the holder's process id (for the error message) and is left in place after
release, since deleting it would race with a process about to lock it.
"""

from __future__ import annotations

import os
import sys

from qjobs._core.errors import InputError

__all__ = ["LedgerLock"]

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class LedgerLock:
    """The exclusive lock of one ledger file, held from :meth:`acquire` to :meth:`release`."""

    __slots__ = ("_fd", "ledger", "path")

    def __init__(self, ledger: str) -> None:
        self.ledger = ledger
        self.path = ledger + ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`~qjobs.InputError` on ``ledger`` if it is held."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if not _try_lock(fd):
                holder = _read_pid(fd)
                raise InputError(
                    "ledger",
                    self.ledger,
                    "is in use by another scheduler"
                    + (f" (process {holder})" if holder else "")
                    + f"; one ledger serves one scheduler at a time (lock file {self.path})",
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (closing the descriptor releases it); idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
