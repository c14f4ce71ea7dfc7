"""The scheduler's shape: steps composed around one shared state, one assignment site per state."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import qjobs
from qjobs.scheduler import Scheduler
from qjobs.scheduler._batches import Batcher
from qjobs.scheduler._bookkeeping import Bookkeeper
from qjobs.scheduler._cancelling import Canceller
from qjobs.scheduler._fetching import Fetcher
from qjobs.scheduler._polling import Poller
from qjobs.scheduler._resuming import Resumer
from qjobs.scheduler._shared import SchedulerState
from qjobs.scheduler._submitting import Submitter
from qjobs.scheduler._tracking import Tracker
from qjobs.testing import FakeProvider

PACKAGE = Path(qjobs.__file__).parent / "scheduler"
STEPS = (Bookkeeper, Batcher, Tracker, Poller, Fetcher, Canceller, Resumer, Submitter)


def _assignments(attr: str) -> list[str]:
    """``module:function`` of every assignment (with a value) to an attribute named ``attr``."""
    sites: list[str] = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign):
                    targets = node.targets
                elif isinstance(node, ast.AugAssign) or (
                    isinstance(node, ast.AnnAssign) and node.value is not None
                ):
                    targets = [node.target]
                else:
                    continue
                for t in targets:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Attribute) and sub.attr == attr:
                            sites.append(f"{path.stem}:{fn.name}")
    return sites


def test_batch_state_is_assigned_in_one_place() -> None:
    assert _assignments("state") == ["_states:move"]


def test_circuit_state_is_assigned_in_one_place() -> None:
    assert _assignments("_state") == ["_circuits:_go"]


def test_no_scheduler_module_reads_a_private_field_of_the_future() -> None:
    private = {"_owner", "_record"}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "_future":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not used & private, path.name


def test_steps_inherit_nothing_and_keep_no_state_of_their_own() -> None:
    for step in STEPS:
        assert step.__bases__ == (object,), step
        params = list(inspect.signature(step).parameters)
        assert params[0] == "shared", step
        assert set(step.__slots__) == {"cfg", *params}, step  # references only


@pytest.mark.anyio
async def test_every_step_holds_the_one_shared_state() -> None:
    sched = Scheduler(FakeProvider(), shots=1)
    shared = sched._shared
    assert isinstance(shared, SchedulerState)
    names = ("_book", "_batcher", "_tracker", "_poller", "_fetcher", "_canceller", "_resumer")
    steps = [getattr(sched, name) for name in (*names, "_submitter")]
    assert sorted(type(s).__name__ for s in steps) == sorted(c.__name__ for c in STEPS)
    for step in steps:
        assert step.shared is shared
        assert step.cfg is shared.settings
        for ref in step.__slots__:
            other = getattr(step, ref)
            if isinstance(other, STEPS):
                assert other in steps  # the steps call each other, never copies
