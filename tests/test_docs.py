"""Every ```python block in README.md and docs/**/*.md runs, so the examples cannot rot.

Each block runs in a fresh interpreter (a subprocess, cwd = a temporary directory) and must exit
0. A block whose info string contains ``no-run`` is shown to readers but not executed; use it only
for fragments that cannot stand alone (and say why next to it). Pages needing the circuit
frameworks (``FRAMEWORK_PAGES``) run in the frameworks venv (tests/frameworks/test_accept_docs.py).
The API reference pages (docs/reference/) hold mkdocstrings directives (``::: qjobs.x``), which
are Markdown, not code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Pages whose examples import Qiskit, Cirq, Qibo or Braket: run by tests/frameworks instead.
FRAMEWORK_PAGES = frozenset({"docs/frameworks.md"})
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def _pages() -> list[Path]:
    """Every page of the docs site, sub-folders included."""
    return sorted((ROOT / "docs").rglob("*.md"))


def _blocks() -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    for path in [ROOT / "README.md", *_pages()]:
        if path.relative_to(ROOT).as_posix() in FRAMEWORK_PAGES:
            continue
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            info = m.group("info").strip().split()
            if not info or info[0] != "python" or "no-run" in info:
                continue
            line = text.count("\n", 0, m.start()) + 1
            out.append((path.relative_to(ROOT).as_posix(), line, m.group("body")))
    return out


BLOCKS = _blocks()


def test_docs_have_examples() -> None:
    assert any(p == "README.md" for p, _, _ in BLOCKS), "README must show a runnable example"


def test_every_page_is_in_the_site_nav() -> None:
    # mkdocs.yml lists pages relative to docs/; `make docs` (strict) fails on an omitted page too,
    # this says so without the docs venv.
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s*-\s+(?:[^\n]*?:\s+)?(\S+\.md)\s*$", nav, re.MULTILINE))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in _pages()}
    assert pages - listed == set(), "add these pages to the nav of mkdocs.yml"
    assert listed - pages == set(), "the nav of mkdocs.yml lists pages that do not exist"


def test_reference_directives_are_not_in_code_blocks() -> None:
    # A `::: module` line inside a fence would be shown as text instead of rendered.
    for path in _pages():
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            assert not re.search(r"^:::", m.group("body"), re.MULTILINE), path
    reference = [p for p in _pages() if p.parent.name == "reference"]
    assert any(":::" in p.read_text(encoding="utf-8") for p in reference)


@pytest.mark.parametrize(("path", "line", "code"), BLOCKS, ids=[f"{p}:{n}" for p, n, _ in BLOCKS])
def test_doc_example_runs(path: str, line: int, code: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "QISKIT_IONQ_"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{path}:{line} failed:\n{proc.stdout}\n{proc.stderr}"
