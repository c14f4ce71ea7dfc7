"""Async provider clients and :func:`connect`, which picks one by name."""

from __future__ import annotations

import importlib
from typing import Any

from qjobs._core.errors import InputError
from qjobs._core.public import publish as _publish
from qjobs.providers._base import Capabilities, ClientOptions, Credentials, ProviderClient

__all__ = [
    "PROVIDERS",
    "Capabilities",
    "ClientOptions",
    "Credentials",
    "ProviderClient",
    "connect",
]

#: Provider name -> "module:ClientClass". Modules are imported on first use.
PROVIDERS: dict[str, str] = {
    "ionq": "qjobs.providers.ionq:IonQClient",
    "kipu": "qjobs.providers.kipu:KipuClient",
    "qpi": "qjobs.providers.qpi:QPIClient",
    "qbraid": "qjobs.providers.qbraid:QbraidClient",
    "qibo": "qjobs.providers.qibo:QiboClient",
}


def client_class(provider: str) -> type[ProviderClient]:
    """The client class registered for ``provider``."""
    try:
        target = PROVIDERS[provider]
    except KeyError:
        raise InputError(
            "provider", provider, f"unknown provider; choose one of {sorted(PROVIDERS)}"
        ) from None
    module_name, _, class_name = target.partition(":")
    cls: type[ProviderClient] = getattr(importlib.import_module(module_name), class_name)
    return cls


def connect(provider: str, **options: Any) -> ProviderClient:
    """Create the async client for ``provider`` ("ionq", ...).

    Options are the client class's keyword arguments (``token``, ``base_url``, timeouts, limits,
    ...); credentials and endpoint fall back to the provider's own environment variables and
    files. Use the client as an async context manager.
    """
    return client_class(provider)(**options)


_publish(globals())
