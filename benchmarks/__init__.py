"""The qjobs benchmark suite (``make bench``, ``python -m benchmarks``).

Each scenario runs against the IonQ emulator started as a separate process (``qjobs emulate
ionq`` with injected latency and queue/execution time), or against the in-process
:class:`qjobs.testing.FakeProvider` for the memory scenario. Every contestant — qjobs and the
baselines a user would otherwise write — runs in a fresh worker process, so that its CPU time and
peak RSS are its own. Results go to ``benchmarks/results/<scenario>.json`` and the table in
``docs/benchmarks.md`` is regenerated from them.

Modules: :mod:`benchmarks._config` (sizes and timings), :mod:`benchmarks._emulator` (the emulator
process), :mod:`benchmarks._workload` (the circuits, in qjobs and IonQ wire form),
:mod:`benchmarks.baselines` (sequential and thread-pool code with blocking stdlib HTTP),
:mod:`benchmarks.contestants` (qjobs async, qjobs_sync, the fake-provider memory run),
:mod:`benchmarks._worker` (one contestant in one process), :mod:`benchmarks._scenarios` (the
scenarios, ratios and targets) and :mod:`benchmarks._report` (the Markdown table).
:mod:`benchmarks.peers` holds the ``peers`` and ``peers_limit`` scenarios: each provider's
official SDK (run from the interop venv) against qjobs' defaults on that provider's emulator.
:mod:`benchmarks.conversions` stands apart: Qiskit, Cirq, Qibo and Braket circuits into qjobs,
run on its own in the frameworks venv (``python -m benchmarks.conversions``).
"""
