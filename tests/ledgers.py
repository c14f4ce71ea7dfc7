"""Reading a ledger from a test, whichever backend holds it: a SQLite path or a PostgreSQL URL.

SQL is written for SQLite (tables ``batches``/``circuits``, ``?`` placeholders) and rewritten
for PostgreSQL (``qjobs_batches``/``qjobs_circuits``, ``%s``).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["is_postgres", "scalar"]


def is_postgres(ledger: Path | str) -> bool:
    """True for a PostgreSQL URL."""
    return isinstance(ledger, str) and ledger.startswith("postgresql://")


def _pg_sql(sql: str) -> str:
    return re.sub(r"\b(batches|circuits)\b", r"qjobs_\1", sql).replace("?", "%s")


def scalar(ledger: Path | str, sql: str, *params: Any) -> Any:
    """The first column of the first row of ``sql`` (None without a row), read on a connection
    of its own: it sees committed rows only."""
    if is_postgres(ledger):
        import psycopg

        assert isinstance(ledger, str)
        with psycopg.connect(ledger, autocommit=True) as conn:
            row = conn.execute(_pg_sql(sql).encode(), params).fetchone()
    else:
        con = sqlite3.connect(ledger)
        try:
            row = con.execute(sql, params).fetchone()
        finally:
            con.close()
    return None if row is None else row[0]
