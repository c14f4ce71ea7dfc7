"""qjobs_sync: one generated module per public namespace, importing no private name of qjobs."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> Any:
    if "gen_sync" in sys.modules:
        return sys.modules["gen_sync"]
    spec = importlib.util.spec_from_file_location("gen_sync", ROOT / "scripts" / "gen_sync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_sync"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
SURFACE = gen.build_surface()
ENTRIES = [(ns, name) for ns, names in gen.TWINS.items() for name in names]


def _private(dotted: str) -> bool:
    return any(p.startswith("_") and not p.endswith("__") for p in dotted.split("."))


@pytest.mark.parametrize("namespace", gen.NAMESPACES)
def test_one_file_per_namespace_and_its_banner_names_the_source(namespace: str) -> None:
    path = ROOT / gen.sync_path(namespace)
    first = path.read_text().splitlines()[0]
    assert first == f"{gen.BANNER} from {namespace} — do not edit"
    assert importlib.import_module(gen.sync_name(namespace)).__file__ == str(path)


def test_no_other_generated_file() -> None:
    files = {p.relative_to(ROOT) for p in (ROOT / "qjobs_sync").rglob("*.py")}
    expected = {gen.sync_path(n) for n in gen.NAMESPACES} | {Path("qjobs_sync/_portal.py")}
    assert files == expected


@pytest.mark.parametrize("namespace", gen.NAMESPACES)
def test_no_private_import_of_qjobs(namespace: str) -> None:
    tree = ast.parse((ROOT / gen.sync_path(namespace)).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for dotted in names:
            if dotted == "qjobs_sync._portal":
                continue  # qjobs_sync's own runtime
            if dotted.partition(".")[0] in ("qjobs", "qjobs_sync"):
                assert not _private(dotted), f"{namespace}: imports {dotted}"


def test_the_issue_grep_finds_nothing() -> None:
    proc = subprocess.run(
        ["grep", "-rn", r"import _\|, _[A-Z]", "qjobs_sync"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout == ""


@pytest.mark.parametrize(("namespace", "name"), ENTRIES)
def test_every_twins_entry_has_its_twin_in_its_namespace(namespace: str, name: str) -> None:
    twin = getattr(importlib.import_module(gen.sync_name(namespace)), name)
    portal = importlib.import_module("qjobs_sync._portal")
    assert issubclass(twin, portal.Twin)
    async_cls = gen.resolve(namespace, name)
    for attr, member in vars(async_cls).items():
        fn = gen.unwrap_member(member)
        if attr.startswith("_") or not inspect.isfunction(fn):
            continue
        s_fn = gen.unwrap_member(inspect.getattr_static(twin, gen.RENAMES.get(attr, attr)))
        a_params = inspect.signature(fn).parameters
        s_params = inspect.signature(s_fn).parameters
        assert [(p.name, p.kind, p.default) for p in s_params.values()] == [
            (p.name, p.kind, p.default) for p in a_params.values()
        ], f"{name}.{attr}"


def test_defaults_are_literals() -> None:
    text = (ROOT / gen.sync_path("qjobs.providers.ionq")).read_text()
    import qjobs.providers.ionq as ionq

    default = inspect.signature(ionq.IonQClient.find_by_key).parameters["max_pages"].default
    assert f"max_pages: int = {default!r}" in text


def test_blocking_docstrings() -> None:
    import qjobs_sync

    doc = inspect.getdoc(qjobs_sync.providers.ionq.IonQClient.submit) or ""
    assert "Blocks the calling thread" in doc
    iter_doc = inspect.getdoc(qjobs_sync.providers.ionq.IonQClient.iter_jobs) or ""
    assert "Iterating blocks" in iter_doc
    for path in (ROOT / "qjobs_sync").glob("**/*.py"):
        if path.name != "_portal.py":
            assert "__aenter__" not in path.read_text(), path


def test_twins_survive_a_class_moving_between_private_modules() -> None:
    """The table names the public namespace: a class not exported there is found in its package."""
    found = gen.resolve("qjobs.providers.kipu", "ServiceExecutionJobsAPI")
    assert found.__name__ == "ServiceExecutionJobsAPI"
    with pytest.raises(gen.GenerationError):
        gen.resolve("qjobs.providers.kipu", "NoSuchClassAnywhere")


def test_public_import_paths_keep_working() -> None:
    import qjobs_sync
    from qjobs_sync.providers.ionq import IonQClient
    from qjobs_sync.providers.kipu import JobsAPI, KipuClient
    from qjobs_sync.scheduler import JobFuture, Scheduler
    from qjobs_sync.sweep import Sweep

    assert qjobs_sync.Scheduler is Scheduler
    assert qjobs_sync.JobFuture is JobFuture
    assert qjobs_sync.Sweep is Sweep
    assert issubclass(IonQClient, qjobs_sync.ProviderClient)
    assert issubclass(KipuClient, qjobs_sync.providers.ProviderClient)
    assert JobsAPI.__name__ == "JobsAPI"
    assert qjobs_sync.emulators.serve.__module__ == "qjobs_sync.emulators"
