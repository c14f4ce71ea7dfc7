"""A private PostgreSQL server for the test run: Unix socket only, in a temporary directory.

``initdb`` refuses to run as root, so when the tests run as root (CI) the cluster is created and
run as the ``postgres`` user (``runuser -u postgres --``) in a directory it owns. The server
listens on no TCP address (``listen_addresses=''``), only on a socket in that directory, with
durability off (``fsync``, ``synchronous_commit``, ``full_page_writes``): a test server's data
need not survive a power loss. ``pg_ctl start -w`` returns once the server accepts connections
and ``pg_isready`` confirms it. Each test gets a database of its own (:meth:`new_database`).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir"]


def find_bindir() -> Path | None:
    """The folder holding ``initdb``: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    """One PostgreSQL cluster, started by :meth:`start` and stopped by :meth:`stop`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="qjobs-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self._names = itertools.count()

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)

    def start(self) -> None:
        """Create the cluster and start the server; returns once it accepts connections."""
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-o",
            options,
        )
        ready = shutil.which("pg_isready") or str(self.bindir / "pg_isready")
        subprocess.run(
            [ready, "-h", str(self.dir), "-U", self.user, "-t", "60"], check=True, timeout=90
        )

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` on this server's socket."""
        return f"postgresql://{self.user}@/{database}?host={self.dir}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
