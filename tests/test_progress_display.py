"""``progress=`` on Sweep.run and Scheduler: a live bar on a terminal, a widget in Jupyter, nothing
when nobody watches; a clear error naming the extra when rich is missing and a bar was asked for.

The terminal is a StringIO that says it is a TTY, put in place of ``sys.stderr``; the notebook is
a stand-in ``IPython.display`` module and the kernel detection monkeypatched.
"""

from __future__ import annotations

import io
import re
import sys
import types
from typing import Any

import pytest

import qjobs
import qjobs.sim
from qjobs.scheduler import _display
from qjobs.scheduler._display import (
    NotebookProgressDisplay,
    ProgressDisplay,
    RichProgressDisplay,
    choose_display,
    in_notebook,
)
from qjobs.testing import FakeProvider

pytestmark = pytest.mark.anyio

SOURCE = (
    "OPENQASM 3.0;\ninput float theta;\nqubit[1] q;\nbit[1] c;\nrx(theta) q[0];\nc = measure q;\n"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Tty(io.StringIO):
    """A terminal as far as anyone asks."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Tty:
    """Displays draw on a watched terminal (not CI, not a dumb one)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    tty = Tty()
    # (pytest puts its own sys.stderr back for each test phase: replace what displays read)
    monkeypatch.setattr(_display, "default_stream", lambda: tty)
    return tty


class FakeNotebook:
    """``IPython.display`` as a Jupyter kernel has it: display() with a handle to update."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.handles = 0
        self.module = types.ModuleType("IPython.display")
        self.module.HTML = self.html  # type: ignore[attr-defined]
        self.module.display = self.display  # type: ignore[attr-defined]

    @staticmethod
    def html(text: str) -> str:
        return text

    def display(self, obj: str, *, display_id: bool = False) -> Any:
        assert display_id is True
        self.handles += 1
        self.shown.append(obj)
        notebook = self

        class Handle:
            def update(self, obj: str) -> None:
                notebook.shown.append(obj)

        return Handle()


def _fake() -> FakeProvider:
    return FakeProvider(simulate=lambda c, shots, seed: qjobs.sim.counts(c, shots, seed=seed))


def _sweep(points: int) -> qjobs.Sweep:
    return qjobs.Sweep(SOURCE, {"theta": [0.0] * (points - 1) + [3.141592653589793]})


async def test_sweep_auto_on_a_terminal_draws_the_bar_with_the_counts(terminal: Tty) -> None:
    async with _fake() as client:
        out = await _sweep(7).run(client, shots=20)  # progress="auto" is the default
    assert out.probabilities.shape == (7, 2)
    shown = ANSI.sub("", terminal.getvalue())
    assert "7/7" in shown
    assert "done 7" in shown
    assert "failed 0" in shown
    assert "req/s" in shown


async def test_scheduler_progress_true_on_a_terminal(terminal: Tty) -> None:
    circuits = [qjobs.Circuit.from_qasm(SOURCE).bind({"theta": 0.0}) for _ in range(5)]
    async with _fake() as client, qjobs.Scheduler(client, shots=10, progress=True) as sched:
        for c in circuits:
            sched.submit(c)
        results = await sched.gather()
    assert len(results) == 5
    shown = ANSI.sub("", terminal.getvalue())
    assert "5/5" in shown
    assert "done 5" in shown


async def test_callback_and_bar_together(terminal: Tty) -> None:
    seen: list[qjobs.Progress] = []
    async with _fake() as client:
        await _sweep(3).run(client, shots=5, progress=True, on_progress=seen.append)
    assert seen[-1].completed == 3
    assert "3/3" in ANSI.sub("", terminal.getvalue())


@pytest.mark.parametrize("progress", ["auto", False])
async def test_nothing_when_output_is_not_interactive(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], progress: Any
) -> None:
    monkeypatch.delenv("CI", raising=False)
    piped = io.StringIO()
    monkeypatch.setattr(_display, "default_stream", lambda: piped)
    async with _fake() as client:
        await _sweep(4).run(client, shots=5, progress=progress)
    assert piped.getvalue() == ""
    assert capsys.readouterr().out == ""


async def test_nothing_in_ci_or_when_switched_off(
    terminal: Tty, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _fake() as client:
        await _sweep(2).run(client, shots=5, progress=False)
        monkeypatch.setenv("CI", "true")
        await _sweep(2).run(client, shots=5)
        monkeypatch.delenv("CI")
        monkeypatch.setenv("TERM", "dumb")
        await _sweep(2).run(client, shots=5)
        async with qjobs.Scheduler(client, shots=5) as sched:  # the scheduler's default: off
            sched.submit(qjobs.Circuit.from_qasm(SOURCE).bind({"theta": 0.0}))
    assert terminal.getvalue() == ""


async def test_notebook_selects_the_widget_and_updates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notebook = FakeNotebook()
    monkeypatch.setitem(sys.modules, "IPython.display", notebook.module)
    monkeypatch.setattr(_display, "in_notebook", lambda: True)
    piped = io.StringIO()  # a kernel's stderr is no terminal
    monkeypatch.setattr(_display, "default_stream", lambda: piped)
    chosen = choose_display("auto", total=6, stats=None)
    assert type(chosen) is NotebookProgressDisplay
    async with _fake() as client:
        await _sweep(6).run(client, shots=5)
    assert piped.getvalue() == ""
    assert notebook.handles == 1  # one output cell, redrawn in place
    assert len(notebook.shown) >= 2
    last = notebook.shown[-1]
    assert last.startswith("<pre")
    assert "6/6" in last
    assert "done" in last


def test_kernel_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert in_notebook() is False  # no IPython imported: a plain script
    fake = types.ModuleType("IPython")
    shell: Any = None
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() is False  # IPython imported, no shell
    shell = types.SimpleNamespace()  # the IPython terminal: no kernel
    assert in_notebook() is False
    shell = types.SimpleNamespace(kernel=object())  # a Jupyter kernel
    assert in_notebook() is True


async def test_missing_rich_names_the_extra(terminal: Tty, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    async with _fake() as client:
        with pytest.raises(ImportError, match=r"pip install 'qjobs\[progress\]'"):
            await _sweep(2).run(client, shots=5, progress=True)
        with pytest.raises(ImportError, match="progress"):
            qjobs.Scheduler(client, shots=5, progress=True)
        out = await _sweep(2).run(client, shots=5)  # "auto": quietly nothing
    assert out.size == 2
    assert terminal.getvalue() == ""


async def test_bad_progress_values_are_input_errors() -> None:
    async with _fake() as client:
        bad: Any
        for bad in ("yes", 1, 0.5):
            with pytest.raises(qjobs.InputError) as info:
                qjobs.Scheduler(client, shots=5, progress=bad)
            assert info.value.field == "progress"
        with pytest.raises(qjobs.InputError, match="on_progress"):
            await _sweep(2).run(client, shots=5, progress=print, on_progress=print)


def test_choose_display_kinds(terminal: Tty) -> None:
    assert choose_display(False, total=3, stats=None) is None
    assert type(choose_display("auto", total=3, stats=None)) is RichProgressDisplay
    assert choose_display("auto", total=3, stats=None, stream=io.StringIO()) is None
    forced = choose_display(True, total=3, stats=None, stream=io.StringIO())
    assert type(forced) is RichProgressDisplay
    assert isinstance(forced, ProgressDisplay)


async def test_forced_bar_on_a_pipe_prints_its_last_state_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(_display, "default_stream", lambda: piped)
    async with _fake() as client:
        await _sweep(5).run(client, shots=5, progress=True)
    text = piped.getvalue()
    assert "\x1b[" not in text  # no cursor movement on a file
    assert text.count("5/5") == 1
    assert text.endswith("\n")
