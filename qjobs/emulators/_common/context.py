"""What one emulator app knows: its options, its context (clock, stats, faults, seeded ids)."""

from __future__ import annotations

import random

import attrs
import numpy as np
from aiohttp import web

from qjobs.emulators._common.clock import Clock, Lifecycle
from qjobs.emulators._common.faults import Fault, FaultInjector
from qjobs.emulators._common.ratelimit import RateLimiter, check_rate_limit
from qjobs.emulators._common.stats import EmulatorStats

__all__ = ["CONTEXT_KEY", "MAX_BODY", "PREFIX_KEY", "EmulatorContext", "EmulatorOptions"]


@attrs.frozen
class EmulatorOptions:
    """The knobs every emulator accepts (see :func:`qjobs.emulators.serve`).

    ``latency`` is added to every request (seconds); ``queue_time`` and ``exec_time`` shape each
    job's lifecycle; ``seed`` seeds every random draw; ``tokens`` are the accepted credentials
    (None: any non-empty token); ``fail_rate`` is the chance that a job ends failed;
    ``rate_limit`` (requests/s per token, None: no limit) and ``burst`` (requests) shape the
    token buckets of :mod:`qjobs.emulators._common.ratelimit`.
    """

    latency: float = 0.0
    queue_time: float = 0.0
    exec_time: float = 0.0
    seed: int = 0
    tokens: frozenset[str] | None = attrs.field(default=None, repr=False)
    faults: tuple[Fault, ...] = ()
    fail_rate: float = 0.0
    rate_limit: float | None = None
    burst: int | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("latency", "queue_time", "exec_time"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}={value!r}: must be a number >= 0")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate={self.fail_rate!r}: must be between 0 and 1")
        check_rate_limit(self.rate_limit, self.burst)


class EmulatorContext:
    """Per-server state shared by the middlewares and the provider's handlers.

    ``rng`` draws ids and job failures (seeded, separate from the fault generator);
    :meth:`job_rng` gives a per-job generator for sampling, so results do not depend on the
    order in which clients fetch them. ``mount`` is the path the app is served under on a shared
    server (``"/ionq"``), ``""`` when it is served alone at the server root; handlers that put
    server paths in their answers prepend it. ``rate_limiter`` is None unless the options set a
    ``rate_limit``.
    """

    def __init__(
        self, options: EmulatorOptions, clock: Clock | None = None, *, mount: str = ""
    ) -> None:
        if mount and (not mount.startswith("/") or mount.endswith("/") or "//" in mount):
            raise ValueError(f"mount={mount!r}: must be '' or a path like '/ionq'")
        self.options = options
        self.mount = mount
        self.clock = clock if clock is not None else Clock()
        self.stats = EmulatorStats(self.clock)
        self.faults = FaultInjector(options.seed, options.faults)
        self.rng = random.Random(options.seed)
        self.fail_rate = options.fail_rate
        self.rate_limiter = (
            RateLimiter(options.rate_limit, options.burst, self.clock)
            if options.rate_limit is not None
            else None
        )

    def job_rng(self, index: int) -> np.random.Generator:
        """A numpy generator for the ``index``-th job, determined by the server seed."""
        return np.random.default_rng([self.options.seed, index])

    def new_uuid(self) -> str:
        """A random (seeded) UUID4 string."""
        bits = self.rng.getrandbits(128)
        bits &= ~(0xF000 << 64)
        bits |= 0x4000 << 64  # version 4
        bits &= ~(0xC000 << 48)
        bits |= 0x8000 << 48  # RFC 4122 variant
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def draw_failure(self) -> bool:
        """Whether a new job should fail, by ``fail_rate``."""
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def new_lifecycle(self, fails: bool = False) -> Lifecycle:
        """The lifecycle of a job submitted now: the server's queue time, then its exec time."""
        opts = self.options
        return Lifecycle(self.clock.now(), opts.queue_time, opts.exec_time, fails=fails)


#: The largest request body an emulator reads (bytes).
MAX_BODY = 256 * 2**20

CONTEXT_KEY = web.AppKey("qjobs_emulator_context", EmulatorContext)
PREFIX_KEY = web.AppKey("qjobs_emulator_prefix", str)
