"""Framework tests: Qiskit, Cirq, Qibo and Braket circuits in, the Qiskit backend and Sampler.

Run with ``make frameworks`` (a venv of its own, ``tests/frameworks/requirements.txt``); the core
suite (``make test``) never imports these frameworks. Emulators run in this process through the
blocking ``qjobs_sync.emulators.serve`` (its own background loop), on 127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

import qjobs_sync

PROVIDERS = ("ionq", "qbraid", "kipu", "qpi", "qibo")
TOKEN = "frameworks-token"


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(name, **options)`` starts an emulator for the test and returns its server
    (``server.base_url``, ``server.stats``); every one started is stopped after the test."""
    with ExitStack() as stack:

        def start(name: str, **options: Any) -> Any:
            options.setdefault("tokens", [TOKEN])
            return stack.enter_context(qjobs_sync.emulators.serve(name, **options))

        yield start
