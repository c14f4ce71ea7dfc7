"""``get_backend``: a Qiskit ``BackendV2`` whose ``run`` goes through the qjobs Scheduler."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import threading
import uuid
import weakref
from types import TracebackType
from typing import Any, Self

from qiskit.providers import BackendV2, Options

from qjobs._core.errors import InputError
from qjobs._core.models import Backend
from qjobs._core.version import __version__
from qjobs.providers import connect
from qjobs.providers._base import ProviderClient
from qjobs.qiskit._campaign import Campaign
from qjobs.qiskit._convert import convert
from qjobs.qiskit._job import QjobsJob
from qjobs.qiskit._target import build_target
from qjobs.scheduler import Scheduler
from qjobs_sync import _portal

__all__ = ["QjobsBackend", "get_backend"]

#: The Scheduler's own keyword arguments; other ``run`` options are provider job options.
_SCHEDULER_OPTIONS = frozenset(inspect.signature(Scheduler).parameters) - {"client", "job_options"}


def _default_backend(provider: str) -> str | None:
    """The backend a client picks when none is named (None: the first in the catalogue)."""
    if provider == "ionq":
        return "simulator"
    if provider == "kipu":
        from qjobs.providers.kipu.config import DEFAULT_BACKEND

        return DEFAULT_BACKEND
    if provider == "qbraid":
        from qjobs.providers.qbraid.config import DEFAULT_DEVICE

        return DEFAULT_DEVICE
    if provider == "qibo":
        from qjobs.providers.qibo.config import DEFAULT_DEVICE as QIBO_DEVICE

        return QIBO_DEVICE
    return None


def _pick(catalogue: list[Backend], provider: str, name: str | None) -> Backend:
    wanted = _default_backend(provider) if name is None else name
    if wanted is None and catalogue:
        return catalogue[0]
    for entry in catalogue:
        if entry.name == wanted:
            return entry
    raise InputError("backend", wanted, f"not in the catalogue: {[b.name for b in catalogue]}")


# ------------------------------------------------------------------ closing the client
_background: set[asyncio.Task[None]] = set()
_finalizers: set[weakref.finalize[Any, Any]] = set()


def _close_client(client: ProviderClient) -> None:
    """Close ``client`` on the background loop, if that loop still runs."""
    thread = _portal.loop_thread()
    if thread is None:
        return  # the loop (and with it the client's session) is gone
    if threading.current_thread() is thread:  # garbage-collected on the loop itself
        task = asyncio.get_running_loop().create_task(client.aclose())
        _background.add(task)
        task.add_done_callback(_background.discard)
        return
    with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
        _portal.run_async(client.aclose)


@atexit.register
def _close_all() -> None:
    # Registered after qjobs_sync's own shutdown hook, so it runs first, while the loop is up.
    for finalizer in list(_finalizers):
        finalizer()


# ----------------------------------------------------------------------------- backend
class QjobsBackend(BackendV2):
    """A Qiskit backend running circuits on one qjobs provider backend through the Scheduler.

    Made by :func:`get_backend`. ``run`` returns at once with a :class:`QjobsJob`; the circuits
    are batched, rate-limited and polled centrally on the qjobs_sync background loop. Close it
    (``close()`` or ``with``) to close its client; it is also closed when garbage-collected and at
    interpreter exit.
    """

    def __init__(self, client: ProviderClient, entry: Backend) -> None:
        super().__init__(
            name=f"{client.provider}:{entry.name}",
            description=f"{entry.name} on {client.provider}, run by qjobs",
            backend_version=__version__,
        )
        self._client = client
        self._entry = entry
        self._target = build_target(entry)
        self._max_circuits = client.max_circuits_for(entry.name)
        finalizer = weakref.finalize(self, _close_client, client)
        _finalizers.add(finalizer)
        self._finalizer = finalizer

    @classmethod
    def _default_options(cls) -> Any:
        return Options(shots=1024, memory=False)

    @property
    def target(self) -> Any:
        """The qubits, basis gates and coupling of the provider backend."""
        return self._target

    @property
    def max_circuits(self) -> int | None:
        """How many circuits one provider job can hold (None: no published count, the payload
        size bounds a job; ``run`` takes any number)."""
        return self._max_circuits

    @property
    def client(self) -> ProviderClient:
        """The async qjobs client (it lives on the qjobs_sync background loop)."""
        return self._client

    @property
    def entry(self) -> Backend:
        """The provider's catalogue entry for this backend."""
        return self._entry

    def run(self, run_input: Any, **options: Any) -> QjobsJob:
        """Run one circuit or a list of them; returns at once.

        ``shots`` defaults to the backend's options. Scheduler keyword arguments (``ledger=``,
        ``batch_size=``, ``max_in_flight=``, ...) shape the run; any other option is a provider
        job option; options set to None are dropped. ``memory=True`` asks for per-shot memory
        (``result.get_memory(i)``) from providers that return shots. Circuits that cannot be
        converted raise :class:`~qjobs.InputError` here,
        before anything is sent.
        """
        if not self._finalizer.alive:
            raise RuntimeError(f"the backend {self.name} is closed")
        circuits = run_input if isinstance(run_input, list | tuple) else [run_input]
        shots = options.pop("shots", None)
        shots = self.options.shots if shots is None else shots
        memory = options.pop("memory", None)
        memory = bool(self.options.memory if memory is None else memory)
        # An option left at None means "the default" (Qiskit's primitives pass seed_simulator).
        options = {k: v for k, v in options.items() if v is not None}
        converted = [convert(qc) for qc in circuits]
        for i, (circuit, _header) in enumerate(converted):
            if not circuit.is_bound:
                raise InputError(
                    f"circuits[{i}]", sorted(circuit.parameters), "has unbound parameters"
                )
        scheduler_options = {"backend": self._entry.name, **options}
        campaign = Campaign(
            self._client,
            [c for c, _ in converted],
            shots=shots,
            memory=memory,
            scheduler_options=scheduler_options,
        )
        return QjobsJob(self, f"qjobs-{uuid.uuid4().hex}", campaign, [h for _, h in converted])

    def close(self) -> None:
        """Close the client (idempotent)."""
        _finalizers.discard(self._finalizer)
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def get_backend(provider: str, backend: str | None = None, **connect_options: Any) -> QjobsBackend:
    """A Qiskit ``BackendV2`` for ``backend`` of ``provider`` ("ionq", "qbraid", "kipu", "qpi",
    "qibo"); ``backend=None`` takes the provider's default.

    ``connect_options`` go to :func:`qjobs.connect` (``token``, ``base_url``, ...). The client is
    opened on the qjobs_sync background loop and its catalogue read to build the ``Target``
    (name ``"<provider>:<backend>"``). Works from plain scripts, notebooks and code running
    inside an event loop.
    """

    async def open_client() -> tuple[ProviderClient, Backend]:
        client = connect(provider, **connect_options)
        await client.__aenter__()
        try:
            return client, _pick(await client.backends(), provider, backend)
        except BaseException:
            await client.aclose()
            raise

    client, entry = _portal.run_async(open_client)
    return QjobsBackend(client, entry)
