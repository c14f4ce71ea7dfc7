"""The official SDKs side by side with qjobs (``python -m benchmarks --only peers,peers_limit``).

For each provider, one emulator process (``qjobs emulate NAME``, the same latency, queue and
execution times for everyone) serves two contestants in turn, on the same distinct circuits:
the provider's official SDK written as its users would at their best (one module per SDK, run
with the interop venv's python, ``.venv-interop/bin/python``), and qjobs with its defaults
(:mod:`benchmarks.peers.qjobs_defaults`). Two scenarios: no server limit, and the emulators
started with ``--rate-limit`` / ``--burst``.

Modules: :mod:`benchmarks.peers.circuits` (circuit ``i`` in each SDK's form), one module per
peer (:mod:`~benchmarks.peers.ionq`, :mod:`~benchmarks.peers.kipu`,
:mod:`~benchmarks.peers.qbraid`, :mod:`~benchmarks.peers.qpi`, :mod:`~benchmarks.peers.qibo`),
:mod:`benchmarks.peers._worker` (one contestant in one process), :mod:`benchmarks.peers.figures`
(derived figures, ratios and targets: pure), :mod:`benchmarks.peers.scenario` (the two
scenarios) and :mod:`benchmarks.peers.report` (the Markdown tables).
"""
