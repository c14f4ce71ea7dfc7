"""The retry layer runs on the ``backoff`` distribution (2.2.1's API), not ``python-backoff``."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest

import qjobs
from qjobs.transport import RequestKind, RetryPolicy
from qjobs.transport._retry import Retrier

ROOT = Path(__file__).resolve().parent.parent


def test_core_dependency_is_backoff_not_python_backoff() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [d.split(">")[0].split("=")[0].split("<")[0].strip() for d in deps]
    assert "backoff>=2.2.1" in deps
    assert "python-backoff" not in names
    requires = importlib.metadata.requires("qjobs") or []
    assert any(r.replace(" ", "").startswith("backoff>=2.2.1") for r in requires)


def test_installed_backoff_is_the_backoff_distribution() -> None:
    import backoff

    dist = importlib.metadata.distribution("backoff")
    assert dist.metadata["Name"].lower() == "backoff"
    major, minor, patch = (int(p) for p in dist.version.split(".")[:3])
    assert (major, minor, patch) >= (2, 2, 1)
    # The module imported as ``backoff`` is the one this distribution installed...
    assert importlib.metadata.packages_distributions()["backoff"] == ["backoff"]
    files = {str(f) for f in dist.files or ()}
    assert "backoff/__init__.py" in files
    assert Path(backoff.__file__).resolve() == Path(str(dist.locate_file("backoff/__init__.py")))
    # ... and python-backoff, which installs the same import path, is absent.
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("python-backoff")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _refused() -> qjobs.ConnectError:
    return qjobs.ConnectError("refused", provider="p", method="GET", path="/x")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("base_delay", "max_delay"), [(0.0, 10.0), (1e-300, 1e300)], ids=["zero", "huge-cap"]
)
async def test_long_retry_sequences_never_overflow(base_delay: float, max_delay: float) -> None:
    # backoff 2.2.1's expo computes factor * base**n: past n = 1023 that overflows a float when
    # the sequence has not reached its cap. The retry loop must keep going, capped.
    t = _Clock()
    policy = RetryPolicy(
        max_attempts=2100, base_delay=base_delay, max_delay=max_delay, max_time=1e308
    )
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise _refused()

    retrier = Retrier(policy, sleep=t.sleep, clock=t.clock, jitter=lambda v: v)
    with pytest.raises(qjobs.ConnectError):
        await retrier.run(attempt, RequestKind.READ)
    assert calls == 2100
    assert len(t.waits) == 2099
    assert all(0 <= w <= max_delay for w in t.waits)


@pytest.mark.anyio
async def test_expo_sequence_matches_policy() -> None:
    t = _Clock()
    policy = RetryPolicy(max_attempts=6, base_delay=0.5, factor=3.0, max_delay=10.0)

    async def attempt() -> None:
        raise _refused()

    retrier = Retrier(policy, sleep=t.sleep, clock=t.clock, jitter=lambda v: v)
    with pytest.raises(qjobs.ConnectError):
        await retrier.run(attempt, RequestKind.CREATE)
    assert t.waits == pytest.approx([0.5, 1.5, 4.5, 10.0, 10.0])
