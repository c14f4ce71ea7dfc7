"""What a ledger records, whatever stores it: circuit and job rows, statuses, packed results.

No storage here (the SQLite ledger is :mod:`qjobs.scheduler._ledger`, imported only when a
scheduler is given a ledger path).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

from qjobs._core.models import Result

__all__ = [
    "ABSENT",
    "INTENT",
    "LOST",
    "REJECTED",
    "LedgerBatch",
    "LedgerRow",
    "pack_result",
    "unpack_result",
]

#: Batch statuses of the ledger besides the provider's: an intent without job id yet, a key
#: the provider does not know, a submission refused, a job the provider lost.
INTENT = "intent"
ABSENT = "absent"
REJECTED = "rejected"
LOST = "lost"


class LedgerRow:
    """A circuit as recorded: generation, job key and position, packed result (or None), and
    how many of its jobs were lost."""

    __slots__ = ("batch", "gen", "losses", "pos", "result")

    def __init__(
        self,
        gen: int,
        batch: str | None,
        pos: int | None,
        result: bytes | None,
        losses: int = 0,
    ) -> None:
        self.gen = gen
        self.batch = batch
        self.pos = pos
        self.result = result
        self.losses = losses


class LedgerBatch:
    """A provider job as recorded: size, job id (None for an intent only), status, member keys."""

    __slots__ = ("job_id", "key", "members", "size", "status")

    def __init__(self, key: str, size: int, job_id: str | None, status: str) -> None:
        self.key = key
        self.size = size
        self.job_id = job_id
        self.status = status
        self.members: list[str | None] = [None] * size


def pack_result(res: Result) -> bytes:
    """Encode a result compactly: a JSON header, then float64 probabilities and int64 memory."""
    probs = np.ascontiguousarray(res.probabilities, dtype=np.float64).tobytes()
    mem = b"" if res.memory is None else np.ascontiguousarray(res.memory, np.int64).tobytes()
    head = orjson.dumps(
        {
            "c": res.counts,
            "s": res.shots,
            "n": res.num_clbits,
            "j": res.job_id,
            "i": res.index,
            "p": len(probs),
            "m": len(mem) if res.memory is not None else None,
        }
    )
    return struct.pack("<I", len(head)) + head + probs + mem


def unpack_result(blob: bytes) -> Result:
    """Decode :func:`pack_result`'s bytes back into a :class:`~qjobs.Result`."""
    (n,) = struct.unpack_from("<I", blob)
    head: dict[str, Any] = orjson.loads(blob[4 : 4 + n])
    start = 4 + n
    probs = np.frombuffer(blob, dtype=np.float64, count=head["p"] // 8, offset=start).copy()
    memory = None
    if head["m"] is not None:
        memory = np.frombuffer(
            blob, dtype=np.int64, count=head["m"] // 8, offset=start + head["p"]
        ).copy()
    return Result(
        counts=head["c"],
        probabilities=probs,
        shots=head["s"],
        num_clbits=head["n"],
        memory=memory,
        job_id=head["j"],
        index=head["i"],
    )
