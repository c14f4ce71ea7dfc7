"""Fault injection for the emulators: errors, rate limits, dropped connections, broken bodies.

A :class:`Fault` applies to the requests whose route matches its ``route`` pattern and fires either
at random (``rate``, drawn from the server's seeded generator) or a fixed number of times
(``count``, after ``skip`` matching requests). Kinds:

``status``      answer ``status`` (500, 502, 503, 504, ...) with the provider's error body, and a
                ``Retry-After`` header when ``retry_after`` is set;
``rate_limit``  answer 429 with ``Retry-After: retry_after`` (default 1 s);
``drop``        close the connection before handling the request (nothing happened);
``drop_after``  handle the request fully (a job is created), then close without answering;
``malformed``   handle the request, then answer 200 with a truncated JSON body;
``slow``        read the request, then wait ``delay_ms`` before handling it (combines with the
                others; the request is still carried out if the client hangs up meanwhile).

Route patterns are ``"[METHOD ]PATH"`` globs (:mod:`fnmatch`), matched against the route template
relative to the provider prefix (``"GET /jobs/{id}"``) and against the concrete path
(``"GET /jobs/0b6e..."``); ``"*"`` matches everything and a missing method means any method.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Final

import attrs

from qjobs._core.validation import is_int, is_number

__all__ = ["FAULT_KINDS", "Fault", "FaultInjector", "FaultSpec", "parse_faults"]

#: The fault kinds understood by every emulator.
FAULT_KINDS: Final[frozenset[str]] = frozenset(
    {"status", "rate_limit", "drop", "drop_after", "malformed", "slow"}
)

_METHODS: Final[frozenset[str]] = frozenset(
    {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"}
)


def _check_rate(_inst: Any, _attr: Any, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"rate={value!r}: must be between 0 and 1")


def _check_nonneg(_inst: Any, attr: Any, value: float | int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attr.name}={value!r}: must not be negative")


@attrs.define(slots=True)
class Fault:
    """One fault rule; see the module docstring for the kinds and the route pattern syntax."""

    kind: str = attrs.field(default="status")
    route: str = "*"
    status: int = 500
    rate: float = attrs.field(default=1.0, validator=_check_rate)
    count: int | None = attrs.field(default=None, validator=_check_nonneg)
    skip: int = attrs.field(default=0, validator=_check_nonneg)
    retry_after: float | None = attrs.field(default=None, validator=_check_nonneg)
    delay_ms: float = attrs.field(default=0.0, validator=_check_nonneg)
    seen: int = attrs.field(default=0, init=False)
    fired: int = attrs.field(default=0, init=False)

    @kind.validator
    def _check_kind(self, _attr: Any, value: str) -> None:
        if value not in FAULT_KINDS:
            raise ValueError(f"kind={value!r}: must be one of {sorted(FAULT_KINDS)}")

    def __attrs_post_init__(self) -> None:
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"status={self.status!r}: must be an HTTP error status (400-599)")
        if self.kind == "rate_limit":
            self.status = 429
            if self.retry_after is None:
                self.retry_after = 1.0
        method, _, _path = self.route.partition(" ")
        if _path and method.upper() not in _METHODS:
            raise ValueError(f"route={self.route!r}: unknown method {method!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build from JSON (the body of ``POST /_qjobs/faults``); ValueError on bad fields."""
        allowed = {"kind", "route", "status", "rate", "count", "skip", "retry_after", "delay_ms"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault field(s): {sorted(unknown)}")
        kwargs = dict(data)
        for name in ("status", "count", "skip"):
            value = kwargs.get(name)
            if value is not None and not is_int(value):
                raise ValueError(f"{name}={value!r}: must be an integer")
        for name in ("rate", "retry_after", "delay_ms"):
            value = kwargs.get(name)
            if value is not None and not is_number(value):
                raise ValueError(f"{name}={value!r}: must be a number")
        for name in ("kind", "route"):
            if name in kwargs and not isinstance(kwargs[name], str):
                raise ValueError(f"{name}={kwargs[name]!r}: must be a string")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, including how often the rule matched (``seen``) and fired (``fired``)."""
        return attrs.asdict(self)

    def matches(self, method: str, template: str, path: str) -> bool:
        """Whether the rule applies to a request (template and path relative to the prefix)."""
        pattern = self.route.strip()
        want_method, sep, want_path = pattern.partition(" ")
        if not sep:
            want_method, want_path = "*", pattern
        want_method = want_method.upper()
        want_path = want_path.strip()
        if want_method != "*" and want_method != method.upper():
            return False
        return fnmatchcase(template, want_path) or fnmatchcase(path, want_path)

    def decide(self, rng: random.Random) -> bool:
        """Count one matching request and say whether the fault fires on it."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.rate < 1.0 and rng.random() >= self.rate:
            return False
        self.fired += 1
        return True


#: A fault given as a :class:`Fault` or as its JSON form.
FaultSpec = Fault | Mapping[str, Any]


def parse_faults(specs: Iterable[FaultSpec] | Mapping[str, Any] | None) -> list[Fault]:
    """Normalise faults given as objects, dicts, a list of either, or ``{"faults": [...]}``."""
    if specs is None:
        return []
    if isinstance(specs, Mapping):
        if "faults" in specs:
            inner = specs["faults"]
            if not isinstance(inner, list):
                raise ValueError("faults: must be a list")
            return parse_faults(inner)
        return [Fault.from_dict(specs)]
    out: list[Fault] = []
    for spec in specs:
        if isinstance(spec, Fault):
            out.append(attrs.evolve(spec))
        elif isinstance(spec, Mapping):
            out.append(Fault.from_dict(spec))
        else:
            raise ValueError(f"fault {spec!r}: must be a Fault or a JSON object")
    return out


@attrs.define(slots=True)
class Decision:
    """What to do with one request: an extra delay and at most one non-delay fault."""

    delay: float = 0.0
    fault: Fault | None = None


class FaultInjector:
    """The active fault rules of one server and the seeded generator that draws their rates."""

    def __init__(self, seed: int, faults: Iterable[FaultSpec] | None = None) -> None:
        self._rng = random.Random(seed)
        self.faults: list[Fault] = parse_faults(faults)

    def set(self, faults: Iterable[FaultSpec] | Mapping[str, Any] | None) -> None:
        """Replace the rules (validated first: on error the old rules stay)."""
        self.faults = parse_faults(faults)

    def clear(self) -> None:
        """Remove every rule."""
        self.faults = []

    def decide(self, method: str, template: str, path: str) -> Decision:
        """Apply the rules to one request; ``slow`` rules add up, the first other one wins."""
        decision = Decision()
        for fault in self.faults:
            if not fault.matches(method, template, path):
                continue
            if fault.kind == "slow":
                if fault.decide(self._rng):
                    decision.delay += fault.delay_ms / 1000.0
            elif decision.fault is None and fault.decide(self._rng):
                decision.fault = fault
        return decision
