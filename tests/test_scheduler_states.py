"""The scheduler's state machines: the tables, the one move function, the diagrams in the docs."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

import pytest

from qjobs._core.errors import JobCancelledError
from qjobs._core.models import JobStatus, Result
from qjobs.scheduler._batches import Batch, Group
from qjobs.scheduler._circuits import CircuitRecord
from qjobs.scheduler._future import JobFuture
from qjobs.scheduler._states import (
    BATCH_TRANSITIONS,
    FUTURE_TRANSITIONS,
    BatchState,
    FutureState,
    IllegalTransition,
    move,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "scheduler.md"
_MERMAID = re.compile(r"^```mermaid\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_EDGE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\w+)\s*$")


def _diagrams() -> list[set[tuple[str, str]]]:
    out = []
    for m in _MERMAID.finditer(DOC.read_text(encoding="utf-8")):
        edges = set()
        for line in m.group("body").splitlines():
            e = _EDGE.match(line)
            if e is not None:
                edges.add((e.group(1), e.group(2)))
        out.append(edges)
    return out


def _edges(table: object) -> set[tuple[str, str]]:
    assert isinstance(table, dict)
    return {
        ("[*]" if src is None else src.name, dst.name)
        for src, dsts in table.items()
        for dst in dsts
    }


def test_docs_draw_the_batch_table() -> None:
    assert _edges(dict(BATCH_TRANSITIONS)) in _diagrams()


def test_docs_draw_the_future_table() -> None:
    assert _edges(dict(FUTURE_TRANSITIONS)) in _diagrams()


def test_tables_cover_every_state() -> None:
    assert set(BATCH_TRANSITIONS) == {None, *BatchState}
    assert set(FUTURE_TRANSITIONS) == {None, *FutureState}
    assert BATCH_TRANSITIONS[BatchState.DONE] == frozenset()
    assert all(not FUTURE_TRANSITIONS[s] for s in FutureState if s.final)
    # every state but DONE can be released, and every state is reachable from creation
    assert all(
        BatchState.DONE in BATCH_TRANSITIONS[s] for s in BatchState if s is not BatchState.DONE
    )
    for table, states in ((BATCH_TRANSITIONS, BatchState), (FUTURE_TRANSITIONS, FutureState)):
        seen: set[object] = set()
        todo: deque[object] = deque([None])
        while todo:
            for nxt in table[todo.popleft()]:  # type: ignore[index]
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen == set(states)


def _batch(state: BatchState = BatchState.QUEUED_LOCAL) -> Batch:
    group = Group(1, None, {}, b"{}")
    return Batch("k", 0, group, [], [], [], state=state)


def test_repr_shows_state_names() -> None:
    b = _batch()
    assert repr(BatchState.TRACKED) == "BatchState.TRACKED"
    assert repr(FutureState.RUNNING) == "FutureState.RUNNING"
    assert "state=QUEUED_LOCAL" in repr(b)
    move(b, BatchState.SUBMITTING)
    move(b, BatchState.TRACKED)
    assert b.state is BatchState.TRACKED
    assert "state=TRACKED" in repr(b)


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ((), BatchState.TRACKED),
        ((BatchState.DONE,), BatchState.TRACKED),
        ((BatchState.SUBMITTING,), BatchState.FETCHING),
        ((BatchState.SUBMITTING, BatchState.TRACKED, BatchState.FETCHING), BatchState.FETCHING),
        ((BatchState.DONE,), BatchState.DONE),
    ],
)
def test_illegal_batch_moves_raise(path: tuple[BatchState, ...], to: BatchState) -> None:
    b = _batch()
    for state in path:
        move(b, state)
    before = b.state
    with pytest.raises(IllegalTransition, match=f"from {before.name} to {to.name}"):
        move(b, to)
    assert b.state is before  # a refused move changes nothing


def test_illegal_creation_raises() -> None:
    with pytest.raises(IllegalTransition, match="from creation to FETCHING"):
        _batch(BatchState.FETCHING)


def test_every_listed_batch_move_is_allowed() -> None:
    for src, dsts in BATCH_TRANSITIONS.items():
        if src is None:
            continue
        for dst in dsts:
            b = _batch(src) if src in BATCH_TRANSITIONS[None] else None
            if b is None:  # reach src through a listed path first
                b = _batch()
                path = {
                    BatchState.SUBMITTING: [BatchState.SUBMITTING],
                    BatchState.FETCHING: [BatchState.SUBMITTING, BatchState.TRACKED, src],
                    BatchState.DONE: [BatchState.DONE],
                }[src]
                for state in path:
                    move(b, state)
            assert b.state is src
            move(b, dst)
            assert b.state is dst


class _Owner:
    def __init__(self) -> None:
        self.cancelled: list[CircuitRecord] = []

    async def cancel_circuit(self, record: CircuitRecord) -> None:
        self.cancelled.append(record)


def _record(index: int = 0) -> CircuitRecord:
    return CircuitRecord(index, f"k{index}", Group(1, None, {}, b"{}"), None)


def test_illegal_circuit_moves_raise() -> None:
    r = _record()
    assert "PENDING" in repr(r)
    assert r.set_state(FutureState.RUNNING) is FutureState.PENDING
    assert "RUNNING" in repr(r)
    with pytest.raises(IllegalTransition, match="from RUNNING to SUBMITTED"):
        r.set_state(FutureState.SUBMITTED)
    with pytest.raises(ValueError, match="final"):
        r.set_state(FutureState.COMPLETED)
    assert r.set_exception(RuntimeError("boom")) is FutureState.RUNNING
    assert r.done()
    for to in FutureState:
        if not to.final:
            with pytest.raises(IllegalTransition, match=f"from FAILED to {to.name}"):
                r.set_state(to)
    with pytest.raises(IllegalTransition, match="from FAILED to COMPLETED"):
        r.set_result(Result.from_counts({"0": 1}, 1))
    assert isinstance(r.outcome(), RuntimeError)


def _status(f: JobFuture) -> JobStatus | None:
    return f.status  # read afresh each time (mypy would keep a narrowed property)


@pytest.mark.anyio
async def test_future_reads_its_record_and_asks_its_owner() -> None:
    owner = _Owner()
    r = _record(3)
    f = r.future = JobFuture(owner, r)
    assert (f.index, f.key) == (3, "k3")
    with pytest.raises(RuntimeError, match="not finished"):
        r.outcome()
    assert repr(f) == "<JobFuture #3 pending job=None>"
    await f.cancel()
    assert owner.cancelled == [r]  # the future only asks its owner; it changes nothing itself
    assert not f.done()
    assert f.job_id is None
    assert _status(f) is None
    cancelled = JobCancelledError("circuit #3 was cancelled", job_id=None, provider="fake")
    assert r.set_exception(cancelled) is FutureState.PENDING
    assert f.done()
    assert f.exception() is cancelled
    assert _status(f) is JobStatus.CANCELLED
    with pytest.raises(JobCancelledError):
        await f
    done = _record(4)
    g = JobFuture(owner, done)
    result = Result.from_counts({"0": 1}, 1)
    done.set_result(result)
    assert await g is result
    assert g.status is JobStatus.COMPLETED
