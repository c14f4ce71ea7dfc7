"""The providers' folder shape: the five provider packages have the same parts, one client
class each with no mixins, and none imports another provider (one named exception below).

Read from the filesystem and the source (``ast``); the expected parts are the issue's list.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from source_tree import defined_classes

import qjobs.providers
from qjobs.providers._base import ProviderClient

ROOT = Path(qjobs.providers.__file__).resolve().parent
PROVIDERS = ("ionq", "qbraid", "kipu", "qpi", "qibo")
#: Every provider's parts: the client, its settings, its models, and pure helpers.
PARTS = {"__init__", "client", "config", "models", "circuits", "bodies", "pages", "results"}
#: Kipu's API is grouped in namespaces (``client.jobs``, ``client.sessions``...).
EXTRA = {"kipu": {"resources"}}
#: The Hub takes IonQ's circuit JSON for IonQ backends: kipu encodes with IonQ's codec.
ALLOWED = {("kipu", "qjobs.providers.ionq.circuits")}


def _folders() -> dict[str, Path]:
    return {p.name: p for p in ROOT.iterdir() if (p / "__init__.py").exists()}


def _imports(path: Path) -> set[str]:
    return _imports_of(path.read_text(encoding="utf-8"))


def _imports_of(source: str) -> set[str]:
    """Imported modules and ``module.name`` of every ``from module import name``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _foreign(owner: str, imported: set[str]) -> set[str]:
    """The other providers' modules among ``imported``, less the allowed ones."""
    return {
        name
        for name, parts in ((n, n.split(".")) for n in imported)
        if parts[:2] == ["qjobs", "providers"]
        and len(parts) > 2
        and parts[2] in set(PROVIDERS) - {owner}
        and (owner, ".".join(parts[:4])) not in ALLOWED
    }


def test_the_provider_folders_are_the_five_providers() -> None:
    assert set(_folders()) == set(PROVIDERS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_has_the_same_parts(provider: str) -> None:
    found = {p.stem for p in _folders()[provider].glob("*.py")}
    assert found == PARTS | EXTRA.get(provider, set())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_client_class_without_mixins(provider: str) -> None:
    module = importlib.import_module(f"qjobs.providers.{provider}.client")
    clients = defined_classes(module)
    assert len(clients) == 1, clients
    (client,) = clients
    assert client.__bases__ == (ProviderClient,)
    assert not [c for c in client.__mro__ if c.__name__.endswith("Mixin")]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_provider_imports_another(provider: str) -> None:
    bad = {
        f"{path.name}: {name}"
        for path in _folders()[provider].glob("*.py")
        for name in _foreign(provider, _imports(path))
    }
    assert not bad


def test_the_import_check_sees_a_cross_import() -> None:
    assert _foreign("qpi", {"qjobs.providers.ionq.models"}) == {"qjobs.providers.ionq.models"}
    assert _foreign("kipu", {"qjobs.providers.ionq.client"}) == {"qjobs.providers.ionq.client"}
    assert _foreign("kipu", {"qjobs.providers.ionq.circuits", "qjobs.providers._base"}) == set()
    assert _foreign("qibo", {"qjobs.providers.kipu.KipuClient"}) == {
        "qjobs.providers.kipu.KipuClient"
    }
    assert _imports_of("from qjobs.providers.ionq import circuits") == {
        "qjobs.providers.ionq.circuits"
    }
    assert _foreign("ionq", {"qjobs.providers.ionq.models", "qjobs.transport"}) == set()
