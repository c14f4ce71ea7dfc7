"""The scheduler's state machines: the tables, the one move function, the diagrams in the docs."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

import pytest

from qjobs.scheduler._batches import Batch, Group
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


def test_illegal_future_moves_raise() -> None:
    f = JobFuture(None, 0, "k", None, Group(1, None, {}, b"{}"))  # type: ignore[arg-type]
    assert "pending" in repr(f)
    f._go(FutureState.RUNNING)
    with pytest.raises(IllegalTransition, match="from RUNNING to SUBMITTED"):
        f._go(FutureState.SUBMITTED)
    f._go(FutureState.FAILED)
    assert f.done()
    for to in FutureState:
        with pytest.raises(IllegalTransition, match=f"from FAILED to {to.name}"):
            f._go(to)
