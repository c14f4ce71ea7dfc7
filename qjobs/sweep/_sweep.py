"""Parameter sweeps: one template circuit times a numpy grid of parameter values.

A :class:`Sweep` binds every grid point in one vectorised pass (:meth:`qjobs.Circuit.bind_many`,
the template is parsed once), runs the circuits through a :class:`qjobs.Scheduler` and returns a
:class:`SweepResult` whose arrays are shaped like the grid::

    sweep = qjobs.Sweep(source, {"theta": np.linspace(0, np.pi, 50), "phi": [0.0, 0.5]})
    out = await sweep.run(client, backend="simulator", shots=200)
    out.probabilities.shape   # (50, 2, 2**num_clbits)
    out.expectation("ZZ")     # (50, 2)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.validation import is_int
from qjobs.circuit._adapt import CircuitLike, as_circuit
from qjobs.circuit._ir import Circuit
from qjobs.sweep._result import MAX_POINTS, SweepMode, SweepResult, product_grid

if TYPE_CHECKING:
    from qjobs._core.models import Result
    from qjobs.providers import ProviderClient
    from qjobs.scheduler import Progress

__all__ = ["MAX_POINTS", "Sweep", "SweepMode", "SweepResult", "results_on_grid"]


def _as_axis(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    field = f"params[{name!r}]"
    if isinstance(values, str | bytes):
        raise InputError(field, values, "expected a 1-D array of numbers")
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(field, values, "expected a 1-D array of numbers") from None
    if arr.ndim != 1:
        raise InputError(field, values, f"expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(field, values, "empty: a parameter needs at least one value")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(field, values, f"non-finite value {arr[pos]} at index {pos}")
    arr.flags.writeable = False
    return arr


class Sweep:
    """A template circuit and a grid of values for its free parameters.

    ``template`` is a :class:`~qjobs.Circuit` with free parameters, OpenQASM source or a
    parametrised Qiskit, Cirq, Qibo or Braket circuit (converted once, see
    :func:`qjobs.circuit.as_circuit`; Qiskit ``Parameter``s become the names in ``params``).
    ``params`` maps each free parameter name to a 1-D array of values; every parameter of the
    template needs values and no other name is accepted. ``mode="product"`` takes the outer grid in
    the key order of ``params`` (``grid_shape`` is the tuple of lengths); ``mode="zip"`` pairs
    equal-length arrays point by point (``grid_shape == (n,)``). A grid has at most
    :data:`MAX_POINTS` points, checked before it is built. Bad input raises
    :class:`~qjobs.InputError` naming the field.
    """

    def __init__(
        self,
        template: CircuitLike,
        params: Mapping[str, npt.ArrayLike],
        *,
        mode: SweepMode = "product",
    ) -> None:
        template = as_circuit(template, field="template")
        if mode not in ("product", "zip"):
            raise InputError("mode", mode, "expected 'product' or 'zip'")
        if not isinstance(params, Mapping):
            raise InputError("params", params, "expected a mapping of name -> 1-D array")
        free = template.parameters
        if not free:
            raise InputError("template", template, "has no free parameters to sweep")
        for name in params:
            if name not in free:
                raise InputError(
                    f"params[{name!r}]", name, f"not a parameter of the template {list(free)}"
                )
        missing = [name for name in free if name not in params]
        if missing:
            raise InputError("params", sorted(params), f"missing values for {missing}")
        axes = {name: _as_axis(name, values) for name, values in params.items()}
        if mode == "zip":
            lengths = {name: len(a) for name, a in axes.items()}
            if len(set(lengths.values())) > 1:
                raise InputError("params", lengths, "zip mode needs arrays of equal length")
        self.template: Circuit = template
        self.mode: SweepMode = mode
        self.axes = axes
        self.grid_shape, self.params = product_grid(axes, mode)
        self.size = int(np.prod(self.grid_shape))
        self._circuits: list[Circuit] | None = None

    def __repr__(self) -> str:
        return (
            f"<Sweep {self.mode} grid={self.grid_shape} params={list(self.axes)} "
            f"template={self.template!r}>"
        )

    def circuits(self) -> list[Circuit]:
        """The bound circuits, one per grid point, flat in C order (the last axis fastest).

        Bound in one vectorised pass with :meth:`qjobs.Circuit.bind_many`; computed once.
        """
        if self._circuits is None:
            # numpy columns: bind_many evaluates each expression once over whole arrays.
            columns: dict[str, Any] = {n: g.reshape(-1) for n, g in self.params.items()}
            self._circuits = self.template.bind_many(columns)
            if len(self._circuits) != self.size:  # pragma: no cover - bind_many contract
                raise RuntimeError(
                    f"bind_many returned {len(self._circuits)} circuits for {self.size} points"
                )
        return list(self._circuits)

    async def run(
        self,
        client: ProviderClient,
        *,
        backend: str | None = None,
        shots: int,
        progress: bool | Literal["auto"] | Callable[[Progress], None] | None = "auto",
        resubmit_lost: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        **scheduler_options: Any,
    ) -> SweepResult:
        """Run every point through a :class:`qjobs.Scheduler` and gather the results in order.

        ``progress`` draws the run: ``"auto"`` (the default) a live bar where someone watches (a
        notebook widget in a Jupyter kernel, a ``rich`` bar when stderr is a terminal; nothing
        in CI, in a pipe or a log file), ``True`` always (needs the ``progress`` extra),
        ``False`` never. ``on_progress`` is called with a :class:`~qjobs.scheduler.Progress`
        snapshot after every scheduler event and each time a request starts waiting to be
        retried (a callable given as ``progress`` is taken as ``on_progress``, and ``None`` as
        ``False``, as before ``progress`` drew anything). ``scheduler_options`` are passed to
        the scheduler (``max_in_flight``, ``batch_size``, ``ledger``, ``on_event``, job options
        such as ``noise``...). A point that fails raises its error (the scheduler cancels the
        rest). A point whose job the provider lost raises
        :class:`~qjobs.JobLostError`, unless ``resubmit_lost`` is true: then it is resubmitted
        once in a new job.
        """
        if not is_int(shots, low=1):
            raise InputError("shots", shots, "expected a positive integer")
        from qjobs.scheduler import Scheduler
        from qjobs.scheduler._scheduler import require_async_client

        require_async_client(client, "qjobs.Sweep.run", "qjobs_sync.Sweep(...).run")
        mode: bool | Literal["auto"] = False
        if callable(progress):
            if on_progress is not None:
                raise InputError("progress", progress, "a callback goes to on_progress, not both")
            on_progress = progress
        elif progress is not None:
            mode = progress
        circuits = self.circuits()
        started = time.perf_counter()
        requests_before = client.transport.stats.total
        sched = Scheduler(
            client,
            backend=backend,
            shots=shots,
            on_progress=on_progress,
            progress=mode,
            resubmit_lost=resubmit_lost,
            **scheduler_options,
        )
        async with sched:
            for circuit in circuits:
                sched.submit(circuit, shots=shots)
            results = await sched.gather()
        if on_progress is not None:
            on_progress(sched.progress())
        elapsed = time.perf_counter() - started
        metadata = {
            "provider": client.provider,
            "backend": backend,
            "points": self.size,
            "jobs": sched.progress().jobs_submitted,
            "elapsed_s": round(elapsed, 6),
            "requests": client.transport.stats.total - requests_before,
        }
        return self._result(results, shots, metadata)

    def _result(self, results: list[Result], shots: int, metadata: dict[str, Any]) -> SweepResult:
        """Assemble results (flat, C order) into a :class:`SweepResult`."""
        return results_on_grid(results, self.axes, self.mode, shots, metadata)


def results_on_grid(
    results: list[Result],
    axes: Mapping[str, npt.NDArray[np.float64]],
    mode: SweepMode,
    shots: int,
    metadata: dict[str, Any],
) -> SweepResult:
    """Results of every grid point (flat, C order) as a :class:`SweepResult` over ``axes``."""
    grid_shape, _ = product_grid(axes, mode)
    widths = {len(r.probabilities) for r in results}
    if len(widths) != 1:
        raise MalformedResponseError(
            f"results differ in their number of outcomes: {sorted(widths)}",
            provider=str(metadata.get("provider")),
        )
    probs = np.stack([r.probabilities for r in results]).reshape(*grid_shape, widths.pop())
    return SweepResult(
        axes=dict(axes),
        mode=mode,
        shots=shots,
        probabilities=probs,
        counts=[r.counts for r in results],
        job_ids=[r.job_id for r in results],
        metadata=metadata,
    )
