"""qjobs_sync mirrors the async surface name by name and parameter by parameter, and is fresh."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_sync", ROOT / "scripts" / "gen_sync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_sync"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
SURFACE = gen.build_surface()

#: Async annotation heads and what the sync twin says instead.
SYNC_HEADS = {
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterator",
    "AsyncGenerator": "Iterator",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "AsyncContextManager": "AbstractContextManager",
}


def _norm(annotation: Any) -> str:
    """An annotation string normalised by the AST, with async heads made sync."""
    if annotation is inspect.Parameter.empty:
        return ""
    node = ast.parse(str(annotation), mode="eval").body
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == "AsyncGenerator"
            and isinstance(sub.slice, ast.Tuple)
        ):
            sub.slice = sub.slice.elts[0]  # AsyncGenerator[X, S] -> Iterator[X]
        if isinstance(sub, ast.Name) and sub.id in SYNC_HEADS:
            sub.id = SYNC_HEADS[sub.id]
    return ast.unparse(node)


def _public_members(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name, member in vars(klass).items():
            if name in gen.SKIPPED:
                continue
            if name.startswith("_") and name not in gen.MIRRORED_DUNDERS:
                continue
            if name == "__init__" and not SURFACE.constructible(cls):
                continue  # abstract, or handed out by other twins only
            out[name] = member
    return out


def _compare_signatures(async_fn: Any, sync_fn: Any, where: str, *, kind: str) -> None:
    a = inspect.signature(async_fn)
    s = inspect.signature(sync_fn)
    a_params = list(a.parameters.values())
    s_params = list(s.parameters.values())
    assert [p.name for p in s_params] == [p.name for p in a_params], where
    for ap, sp in zip(a_params, s_params, strict=True):
        assert sp.kind == ap.kind, f"{where}: kind of {ap.name}"
        assert sp.default == ap.default, f"{where}: default of {ap.name}"
        assert _norm(sp.annotation) == _norm(ap.annotation), f"{where}: annotation of {ap.name}"
    if kind == "acm":
        # asynccontextmanager: AsyncIterator[X] -> AbstractContextManager[X]
        inner = ast.parse(str(a.return_annotation), mode="eval").body
        assert isinstance(inner, ast.Subscript)
        assert (
            _norm(s.return_annotation)
            == f"AbstractContextManager[{_norm(ast.unparse(inner.slice))}]"
        )
    elif kind == "async" and str(a.return_annotation).startswith(("Awaitable[", "Coroutine[")):
        pass  # unwrapped awaitables: checked by mypy on the generated code
    else:
        assert _norm(s.return_annotation) == _norm(a.return_annotation), f"{where}: return"
    assert not inspect.iscoroutinefunction(sync_fn), where
    assert not inspect.isasyncgenfunction(sync_fn), where


def _pairs() -> list[tuple[str, str]]:
    return [(name, gen.sync_name(name)) for name in SURFACE.namespaces]


@pytest.mark.parametrize(("async_name", "sync_name"), _pairs())
def test_namespace_mirrors_async_names(async_name: str, sync_name: str) -> None:
    a = importlib.import_module(async_name)
    s = importlib.import_module(sync_name)
    assert list(s.__all__)[: len(getattr(a, "__all__", []))] == list(getattr(a, "__all__", []))
    for name in getattr(a, "__all__", []):
        a_obj, s_obj = getattr(a, name), getattr(s, name)
        key = gen.canonical(a_obj)
        if isinstance(a_obj, types.ModuleType):
            assert isinstance(s_obj, types.ModuleType)
            assert s_obj is a_obj or s_obj.__name__ == gen.sync_name(a_obj.__name__)
        elif key in SURFACE.classes:
            assert isinstance(s_obj, type)
            assert issubclass(s_obj, importlib.import_module("qjobs_sync._portal").Twin)
            assert s_obj.__name__ == a_obj.__name__
        elif key in SURFACE.functions:
            assert s_obj is not a_obj
            assert s_obj.__name__ == a_obj.__name__
        else:
            assert s_obj is a_obj, f"{sync_name}.{name} should be re-exported unchanged"


@pytest.mark.parametrize("key", sorted(SURFACE.classes))
def test_twin_class_mirrors_every_member(key: str) -> None:
    a_cls = SURFACE.classes[key]
    s_mod = importlib.import_module(gen.sync_name(SURFACE.namespace_of(a_cls)))
    s_cls = getattr(s_mod, a_cls.__name__)
    assert inspect.getdoc(s_cls)
    for name, member in _public_members(a_cls).items():
        s_name = gen.RENAMES.get(name, name)
        if name == "__aiter__":
            s_name = "__iter__"
        where = f"{s_cls.__qualname__}.{s_name}"
        assert hasattr(s_cls, s_name), f"no sync twin for {a_cls.__qualname__}.{name}"
        s_member = inspect.getattr_static(s_cls, s_name)
        if isinstance(member, property):
            assert isinstance(s_member, property), where
            assert (s_member.fset is None) == (member.fset is None), where
            continue
        fn = gen.unwrap_member(member)
        if not inspect.isfunction(fn):
            continue
        assert type(s_member) is type(member), f"{where}: static/class method kind"
        if name in ("__aiter__", "__aenter__"):
            continue  # iterator / context manager protocol, checked by the runtime tests
        _compare_signatures(fn, gen.unwrap_member(s_member), where, kind=gen.call_kind(fn))
        if not name.startswith("__"):
            assert inspect.getdoc(gen.unwrap_member(s_member)), f"{where}: no docstring"
    # plain attributes are read through
    for klass in a_cls.__mro__[:-1]:
        for name in gen.attribute_annotations(klass):
            assert isinstance(inspect.getattr_static(s_cls, name), property), name


@pytest.mark.parametrize("key", sorted(SURFACE.functions))
def test_twin_function_mirrors_signature(key: str) -> None:
    fn = SURFACE.functions[key]
    s_fn = getattr(importlib.import_module(gen.sync_name(SURFACE.namespace_of(fn))), fn.__name__)
    _compare_signatures(fn, s_fn, key, kind=gen.call_kind(fn))
    assert inspect.getdoc(s_fn)


def test_surface_covers_clients_scheduler_and_emulators() -> None:
    import qjobs
    import qjobs_sync
    from qjobs.providers import PROVIDERS

    for target in PROVIDERS.values():
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
        assert gen.canonical(cls) in SURFACE.classes
    for name in ("ProviderClient", "Scheduler", "JobFuture", "Sweep"):
        assert name in qjobs.__all__
        assert gen.canonical(getattr(qjobs, name)) in SURFACE.classes
        assert getattr(qjobs_sync, name) is not getattr(qjobs, name)
    assert "qjobs.emulators.serve" in SURFACE.functions
    assert "qjobs.providers.connect" in SURFACE.functions
    for value in ("Circuit", "Job", "Result", "JobStatus", "InputError", "Expr"):
        assert getattr(qjobs_sync, value) is getattr(qjobs, value)


def test_generated_files_are_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_sync.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in (ROOT / "qjobs_sync").rglob("*.py"):
        if path.name != "_portal.py":
            assert path.read_text().startswith(gen.BANNER), path


# ----------------------------------------------------------- the generator on synthetic code
SYNTHETIC_V1 = '''
"""A synthetic async module."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

__all__ = ["Thing", "open_thing", "VALUE"]

VALUE = 3


class Thing:
    """An async thing."""

    def __init__(self, size: int = 2) -> None:
        self.size = size

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetch(self, x: int) -> str:
        """Fetch ``x``; use it as ``await thing.fetch(1)``."""
        return str(x * self.size)

    async def items(self) -> AsyncIterator[int]:
        """Count up to ``size``."""
        for i in range(self.size):
            yield i

    async def clone(self) -> Thing:
        """A new thing of the same size."""
        return Thing(self.size)


@asynccontextmanager
async def open_thing(size: int) -> AsyncIterator[Thing]:
    """``async with open_thing(3) as thing``."""
    yield Thing(size)
'''


def _synthetic(tmp_path: Path, source: str, version: str) -> tuple[Any, str]:
    name = f"qjobs._synthetic_sync_test_{version}"
    path = tmp_path / f"synthetic_{version}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    surface = gen.Surface(
        classes={f"{name}.Thing": module.Thing},
        functions={f"{name}.open_thing": module.open_thing},
        namespaces=[name],
    )
    return module, gen.ModuleWriter(surface, name).generate()


def test_generator_on_a_synthetic_class(tmp_path: Path) -> None:
    module, text = _synthetic(tmp_path, SYNTHETIC_V1, "v1")
    try:
        tree = ast.parse(text)
        assert not any(isinstance(n, ast.AsyncFunctionDef | ast.Await) for n in ast.walk(tree))
        assert text.startswith(gen.BANNER)
        assert "def fetch(self, x: int) -> str:" in text
        assert "use it as ``thing.fetch(1)``" in text  # docstring without await
        assert "def items(self) -> Iterator[int]:" in text
        assert "def __enter__(self) -> Self:" in text
        assert "def open_thing(size: int) -> AbstractContextManager[Thing]:" in text
        assert "return cast('Thing', _portal.wrap(" in text.replace('"', "'")
        assert "from qjobs._synthetic_sync_test_v1 import VALUE" in text
    finally:
        del sys.modules[module.__name__]


def test_a_changed_async_signature_makes_the_check_fail(tmp_path: Path) -> None:
    _, before = _synthetic(tmp_path, SYNTHETIC_V1, "v2")
    changed = SYNTHETIC_V1.replace(
        "async def fetch(self, x: int) -> str:",
        "async def fetch(self, x: int, *, twice: bool = False) -> str:",
    )
    m2, after = _synthetic(tmp_path, changed, "v2")
    try:
        path = Path("qjobs_sync/_synthetic.py")
        assert gen.diff({path: before}, {path: before}) == ""
        report = gen.diff({path: before}, {path: after})
        assert "+    def fetch(self, x: int, *, twice: bool = False) -> str:" in report
        assert "twice=twice" in report
    finally:
        sys.modules.pop(m2.__name__, None)


SYNTHETIC_NAMESPACES = '''
"""A synthetic client with namespace objects."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Client"]


class JobsAPI:
    """Not exported: reached only through ``Client.jobs``."""

    async def get(self, job_id: str) -> str:
        """One job."""
        return job_id

    async def search(self, *, size: int = 2) -> AsyncIterator[str]:
        """Every job."""
        for i in range(size):
            yield str(i)

    @asynccontextmanager
    async def open(self, name: str) -> AsyncIterator[int]:
        """A session."""
        yield len(name)


class Lister:
    """Called like a function: ``await client.lister()``."""

    async def __call__(self) -> list[str]:
        return []


class Holder:
    """No async method of its own, but holds a namespace."""

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.jobs = JobsAPI()


class Plain:
    """Nothing async: passed through."""

    def value(self) -> int:
        return 1


class Client:
    """The client."""

    async def run(self) -> int:
        """Run."""
        return 1

    @property
    def jobs(self) -> JobsAPI:
        """The jobs namespace."""
        return JobsAPI()

    @property
    def lister(self) -> Lister:
        """The lister."""
        return Lister()

    def holder(self, ident: str) -> Holder:
        """A holder."""
        return Holder(ident)

    def plain(self) -> Plain:
        """A plain object."""
        return Plain()
'''


def test_generator_follows_namespace_objects(tmp_path: Path) -> None:
    name = "qjobs._synthetic_sync_test_ns"
    path = tmp_path / "synthetic_ns.py"
    path.write_text(SYNTHETIC_NAMESPACES)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        listed = {name: ("Client", "Holder", "JobsAPI", "Lister")}
        surface = gen.build_surface(listed, {})
        assert sorted(surface.classes) == [
            f"{name}.{c}" for c in ("Client", "Holder", "JobsAPI", "Lister")
        ]
        raw = gen.ModuleWriter(surface, name).generate()
        text = raw.replace('"', "'")
        assert not any(
            isinstance(n, ast.AsyncFunctionDef | ast.Await) for n in ast.walk(ast.parse(text))
        )
        assert "return cast('JobsAPI', _portal.wrap(self._async.jobs))" in text
        assert "return cast('Holder', _portal.wrap(_portal.run_sync(" in text
        assert "def plain(self) -> Plain:" in text
        assert "return _portal.run_sync(lambda: self._async.plain())" in text  # not wrapped
        assert "def __call__(self) -> list[str]:" in text
        assert "def search(self, *, size: int = 2) -> Iterator[str]:" in text
        assert "return _portal.iterate(lambda: self._async.search(size=size))" in text
        assert "def open(self, name: str) -> AbstractContextManager[int]:" in text
        assert "def ident(self) -> str:" in text  # Holder's plain attribute, read through
        assert "def jobs(self) -> JobsAPI:" in text.split("class Holder")[1]
        # a new namespace method changes the output: the staleness check catches it
        changed = SYNTHETIC_NAMESPACES.replace(
            "    async def get(self",
            "    async def status(self) -> str:\n        return ''\n\n    async def get(self",
        )
        path.write_text(changed)
        spec.loader.exec_module(module)
        after = gen.ModuleWriter(gen.build_surface(listed, {}), name).generate()
        report = gen.diff({Path("x.py"): raw}, {Path("x.py"): after})
        assert "+    def status(self) -> str:" in report
    finally:
        del sys.modules[name]


#: Public async modules deliberately without a sync twin: the transport is the clients' plumbing
#: (in no table of scripts/gen_sync.py), the emulator apps are served through
#: ``qjobs_sync.emulators.serve``, and ``qjobs.testing`` fakes serve async tests. Anything else
#: async must be mirrored. ``qjobs.qiskit`` blocks already (as Qiskit does) and needs the
#: optional Qiskit extra to import.
NOT_MIRRORED = ("qjobs.transport", "qjobs.emulators.", "qjobs.testing", "qjobs.qiskit")


def _is_async(obj: Any) -> bool:
    if inspect.iscoroutinefunction(obj) or inspect.isasyncgenfunction(obj):
        return True
    if not isinstance(obj, type):
        return False
    for _, member in inspect.getmembers(obj):
        fn = getattr(member, "__func__", member)
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            return True
    return False


def test_every_public_async_name_has_a_twin() -> None:
    """Walks every public module of ``qjobs`` on its own (not through the generator's discovery):
    an async class or function exported anywhere has a sync twin, or its module is listed above."""
    import pkgutil

    import qjobs

    missing: list[str] = []
    for info in pkgutil.walk_packages(qjobs.__path__, "qjobs."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or info.name.startswith(NOT_MIRRORED):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            key = gen.canonical(obj)
            if _is_async(obj) and key not in SURFACE.classes and key not in SURFACE.functions:
                missing.append(f"{info.name}.{name}")
    assert missing == []
    assert (
        gen.canonical(importlib.import_module("qjobs.providers.kipu").JobsAPI) in SURFACE.classes
    )  # listed for qjobs.providers.kipu
