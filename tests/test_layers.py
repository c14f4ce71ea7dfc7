"""The layering rules of ARCHITECTURE.md, checked on the source: imports point down.

- Core (``qjobs._core``, ``qjobs.circuit``) imports nothing of qjobs above it.
- The transport imports only core.
- Providers never import the scheduler, sweeps, emulators or the simulator.
- The scheduler never imports a provider module (only the provider interface).
- Emulators never import client code (providers, codecs, transport): two independent
  implementations of each wire protocol meet only in tests.
- The simulator imports only core.
- ``__all__`` of the public package lists exactly what it exports.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import qjobs

ROOT = Path(__file__).resolve().parent.parent / "qjobs"

_CORE = ("qjobs._core", "qjobs.circuit")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _qjobs_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("qjobs")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qjobs"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _allowed(importer: str) -> tuple[str, ...] | None:
    """Prefixes ``importer`` may import from qjobs; None: no rule applies."""
    core = _CORE
    if _ok(importer, _CORE):
        return core
    if importer.startswith("qjobs.transport"):
        return (*core, "qjobs.transport")
    if importer.startswith("qjobs.sim"):
        return (*core, "qjobs.sim")
    if importer.startswith("qjobs.providers"):
        return (*core, "qjobs.transport", "qjobs.providers")
    if importer.startswith("qjobs.emulators"):
        return (*core, "qjobs.sim", "qjobs.emulators")
    if importer.startswith("qjobs.scheduler"):
        return (*core, "qjobs.scheduler", "qjobs.providers._base", "qjobs.transport")
    return None


def _ok(name: str, allowed: tuple[str, ...]) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


# Top-level glue (the package root, the CLI, sweeps, qjobs.testing) may import any layer.
RULED = sorted(m for m in MODULES if _allowed(m) is not None)


@pytest.mark.parametrize("module", RULED)
def test_imports_point_down(module: str) -> None:
    allowed = _allowed(module)
    assert allowed is not None
    bad = sorted(
        name
        for name in _qjobs_imports(MODULES[module])
        if not _ok(name, allowed) and name not in {"qjobs"}
    )
    assert not bad, f"{module} imports {bad}, above or beside its layer"


def test_rules_cover_every_layer() -> None:
    assert len(RULED) > 0.8 * len(MODULES)
    for layer in ("qjobs.transport", "qjobs.providers", "qjobs.emulators", "qjobs.scheduler"):
        assert any(m.startswith(layer) for m in RULED), layer


def test_public_all_matches_exports() -> None:
    for name in qjobs.__all__:
        assert hasattr(qjobs, name), name
    # Subpackages become attributes once imported anywhere; they are not exported names.
    public = {
        n for n, v in vars(qjobs).items() if not n.startswith("_") and not isinstance(v, ModuleType)
    }
    extra = public - set(qjobs.__all__) - {"annotations", "TYPE_CHECKING", "Any"}
    assert not extra, f"public names missing from __all__: {sorted(extra)}"


def test_import_qjobs_leaves_optional_parts_unloaded() -> None:
    """``import qjobs`` loads neither the ledgers (SQLite, PostgreSQL), Dask, the OpenQASM reader
    and writers, the emulators, the simulator nor the labelled-data and plot exports (xarray,
    pandas, matplotlib): each loads when first used."""
    code = "import sys, qjobs; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    lazy = {
        "sqlite3",
        "qjobs.scheduler._ledger",
        "qjobs.scheduler._ledger_backend",
        "qjobs.scheduler._ledger_pg",
        "psycopg",
        "qjobs.circuit._qasm",
        "qjobs.circuit._qasm_out",
        "qjobs.circuit._binding",
        "qjobs.circuit._qiskit",
        "qjobs.qiskit",
        "qiskit",
        "qjobs.emulators",
        "qjobs.sim",
        "qjobs.circuit._cirq",
        "qjobs.circuit._qibo",
        "qjobs.circuit._braket",
        "cirq",
        "qibo",
        "braket",
        "sympy",
        "qjobs._core.plotting",
        "qjobs.sweep._labelled",
        "qjobs.sweep._plot",
        "matplotlib",
        "xarray",
        "pandas",
        "dask",
        "distributed",
    }
    assert "qjobs.scheduler" in out
    assert lazy.isdisjoint(out), sorted(lazy.intersection(out))
    # and each is there on first use
    from qjobs.circuit import parse_qasm

    assert parse_qasm("OPENQASM 2.0; qreg q[1]; creg c[1]; measure q -> c;").num_qubits == 1
