"""Public names report the namespace users import them from (``qjobs.InputError``)."""

from __future__ import annotations

import importlib
import pickle
import pkgutil

import pytest

import qjobs
from qjobs._core.public import publish

PUBLIC = [
    "qjobs",
    "qjobs.circuit",
    "qjobs.emulators",
    "qjobs.providers",
    "qjobs.providers.ionq",
    "qjobs.providers.kipu",
    "qjobs.providers.qbraid",
    "qjobs.providers.qibo",
    "qjobs.providers.qpi",
    "qjobs.scheduler",
    "qjobs.sim",
    "qjobs.sweep",
    "qjobs.transport",
]


def test_top_level_names_report_qjobs() -> None:
    assert qjobs.InputError.__module__ == "qjobs"
    assert qjobs.Scheduler.__module__ == "qjobs"
    assert qjobs.Circuit.__module__ == "qjobs"
    assert repr(qjobs.JobStatus).startswith("<enum 'JobStatus'>") or "qjobs" in repr(
        qjobs.JobStatus
    )
    assert qjobs.connect.__module__ == "qjobs"


def test_provider_names_report_their_namespace() -> None:
    from qjobs.providers.ionq import IonQClient
    from qjobs.providers.kipu import JobsAPI

    assert IonQClient.__module__ == "qjobs.providers.ionq"
    assert JobsAPI.__module__ == "qjobs.providers.kipu"


@pytest.mark.parametrize("namespace", PUBLIC)
def test_every_exported_class_and_function_reports_a_public_namespace(namespace: str) -> None:
    module = importlib.import_module(namespace)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (isinstance(obj, type) or callable(obj)) or not hasattr(obj, "__module__"):
            continue
        if not str(obj.__module__).startswith("qjobs"):
            continue  # re-exported from another package
        home = importlib.import_module(obj.__module__)
        assert not any(p.startswith("_") for p in obj.__module__.split(".")), (namespace, name)
        assert getattr(home, obj.__qualname__) is obj, (namespace, name)  # pickle finds it


def test_the_namespaces_list_is_complete() -> None:
    found = {"qjobs"} | {
        info.name
        for info in pkgutil.walk_packages(qjobs.__path__, "qjobs.")
        if info.ispkg and not any(p.startswith("_") for p in info.name.split("."))
    }
    # qjobs.qiskit needs the optional Qiskit extra to import: tests/frameworks covers it.
    assert found - {"qjobs.cli", "qjobs.qiskit"} - {
        n for n in found if n.startswith("qjobs.emulators.")
    } <= set(PUBLIC)


def test_errors_and_models_pickle_under_the_public_module() -> None:
    err = qjobs.InputError("shots", 0, "must be positive")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is qjobs.InputError
    assert str(back) == str(err)
    assert pickle.loads(pickle.dumps(qjobs.InputError)) is qjobs.InputError
    assert b"_core" not in pickle.dumps(qjobs.InputError)  # the class by its public name
    status = next(iter(qjobs.JobStatus))
    assert pickle.loads(pickle.dumps(status)) is status


def test_traceback_names_the_public_module() -> None:
    import traceback

    try:
        raise qjobs.InputError("shots", 0, "must be positive")
    except qjobs.InputError as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
    assert text.startswith("qjobs.InputError:")


def test_publish_keeps_the_shortest_namespace() -> None:
    class Thing:
        pass

    Thing.__module__ = "qjobs.fake_private_module"
    publish({"__name__": "qjobs.fake_namespace", "__all__": ["Thing"], "Thing": Thing})
    assert Thing.__module__ == "qjobs.fake_namespace"
    publish({"__name__": "qjobs", "__all__": ["Thing"], "Thing": Thing})
    assert Thing.__module__ == "qjobs"
    publish({"__name__": "qjobs.fake_namespace", "__all__": ["Thing"], "Thing": Thing})
    assert Thing.__module__ == "qjobs"


def test_publish_leaves_foreign_objects_alone() -> None:
    publish({"__name__": "qjobs.fake_other", "__all__": ["OrderedDict"], "OrderedDict": dict})
    assert dict.__module__ == "builtins"
