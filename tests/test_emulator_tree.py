"""The emulators' folder shape: every provider's emulator has the same parts, and none imports
another provider's emulator (what two of them share lives in ``qjobs/emulators/_common/``).

Everything is read from the filesystem and the source (``ast``), not from a list kept here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import qjobs.emulators

ROOT = Path(qjobs.emulators.__file__).resolve().parent
#: The parts of every provider's emulator: the app, its handlers, its state, its wire format.
PARTS = {"__init__", "app", "routes", "state", "wire"}
PROVIDERS = ("ionq", "qbraid", "kipu", "qpi", "qibo")


def _emulator_folders() -> list[Path]:
    """Every package folder under ``qjobs/emulators`` except the shared ``_common``."""
    return sorted(
        p
        for p in ROOT.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "_common"
    )


def _parts(folder: Path) -> set[str]:
    """The module names in ``folder`` (``.py`` files and sub-packages)."""
    modules = {p.stem for p in folder.glob("*.py")}
    packages = {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
    return modules | packages


def _imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def _foreign_emulators(imported: set[str], own: str | None) -> set[str]:
    """The provider emulator packages (other than ``own``) among ``imported``."""
    foreign = set(PROVIDERS) - {own}
    return {
        f"qjobs.emulators.{parts[2]}"
        for parts in (name.split(".") for name in imported)
        if parts[:2] == ["qjobs", "emulators"] and len(parts) > 2 and parts[2] in foreign
    }


def _modules() -> list[tuple[str, Path]]:
    """(owning provider or ``_common``, path) of every module under the emulator folders."""
    out = [(folder.name, path) for folder in _emulator_folders() for path in folder.rglob("*.py")]
    out += [("_common", path) for path in (ROOT / "_common").rglob("*.py")]
    return sorted(out)


def test_the_emulator_folders_are_the_registered_providers() -> None:
    folders = {p.name for p in _emulator_folders()}
    assert folders == set(PROVIDERS)
    assert folders == set(qjobs.emulators.names())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_emulator_has_exactly_the_parts(provider: str) -> None:
    assert _parts(ROOT / provider) == PARTS


def test_every_emulator_has_the_same_parts_as_the_others() -> None:
    shapes = {folder.name: frozenset(_parts(folder)) for folder in _emulator_folders()}
    assert len(set(shapes.values())) == 1, shapes


@pytest.mark.parametrize(
    ("owner", "path"),
    _modules(),
    ids=[f"{owner}/{path.relative_to(ROOT)}" for owner, path in _modules()],
)
def test_no_emulator_imports_another_providers_emulator(owner: str, path: Path) -> None:
    rel = path.relative_to(ROOT.parent.parent).with_suffix("")
    is_package = rel.name == "__init__"
    module = ".".join(rel.parts[:-1] if is_package else rel.parts)
    imported = _imported_modules(path.read_text(encoding="utf-8"), module, is_package)
    own = owner if owner in PROVIDERS else None
    assert _foreign_emulators(imported, own) == set()


@pytest.mark.parametrize(
    "source",
    [
        "from qjobs.emulators.ionq.wire import decode_circuit\n",
        "import qjobs.emulators.ionq.state\n",
        "from qjobs.emulators import ionq\n",
        "from ..ionq import wire\n",
        "def f():\n    from qjobs.emulators.ionq import app\n",
    ],
)
def test_the_import_check_sees_a_cross_import(source: str) -> None:
    # The check itself must catch what it forbids: kipu reaching into ionq, in every form.
    imported = _imported_modules(source, "qjobs.emulators.kipu.state", is_package=False)
    assert _foreign_emulators(imported, "kipu") == {"qjobs.emulators.ionq"}


def test_the_import_check_allows_own_and_shared_modules() -> None:
    source = (
        "from qjobs.emulators._common import HTTPProblem\n"
        "from qjobs.emulators.kipu.wire import BACKENDS\n"
        "from . import wire\n"
        "import qjobs.sim\n"
    )
    imported = _imported_modules(source, "qjobs.emulators.kipu.state", is_package=False)
    assert _foreign_emulators(imported, "kipu") == set()


def test_the_parts_check_sees_an_extra_module(tmp_path: Path) -> None:
    for name in [*PARTS, "_helpers"]:
        (tmp_path / f"{name}.py").write_text("")
    assert _parts(tmp_path) != PARTS
    assert _parts(tmp_path) - PARTS == {"_helpers"}
