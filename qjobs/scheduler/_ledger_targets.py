"""Where a ledger's jobs run: the targets (provider and endpoint) recorded beside the jobs.

The ledger's keys are hashes that include the provider and its endpoint, so they cannot be read
back. Two more tables keep them readable: ``targets`` holds one row per ``(provider, endpoint)``
a scheduler opened the file for, and ``batch_targets`` maps each job key to its target, written
with the job's intent. ``qjobs ledger show`` and ``qjobs jobs ... --ledger`` read them; a file
written before they existed simply has no targets (its jobs show an unrecorded target).

The tables are added with ``CREATE TABLE IF NOT EXISTS``: the ledger's format version does not
change, and a qjobs that does not know them ignores them. No token is ever stored (the endpoint
is :func:`~qjobs.providers._base.endpoint_of` of the base URL: no userinfo, no query).
"""

from __future__ import annotations

import sqlite3

__all__ = ["INTENT_TARGET", "TARGETS_SCHEMA", "record_target"]

#: The two tables (created by the writer when it opens the file).
TARGETS_SCHEMA = """
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    UNIQUE (provider, endpoint)
);
CREATE TABLE IF NOT EXISTS batch_targets (
    batch TEXT PRIMARY KEY,
    target INTEGER NOT NULL REFERENCES targets (id)
);
"""

#: Maps a job key to its target; a job key names one target, so a second write changes nothing.
INTENT_TARGET = "INSERT OR IGNORE INTO batch_targets (batch, target) VALUES (?, ?)"


def record_target(conn: sqlite3.Connection, provider: str, endpoint: str) -> int:
    """Create the tables when missing and return the id of ``(provider, endpoint)``."""
    conn.executescript(TARGETS_SCHEMA)
    conn.execute(
        "INSERT OR IGNORE INTO targets (provider, endpoint) VALUES (?, ?)", (provider, endpoint)
    )
    row = conn.execute(
        "SELECT id FROM targets WHERE provider = ? AND endpoint = ?", (provider, endpoint)
    ).fetchone()
    return int(row[0])
