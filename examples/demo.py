"""The `make run` demo: the example sweep (examples/sweep.toml) on the embedded IonQ emulator.

Equivalent to ``qjobs sweep examples/sweep.toml --emulate``; extra arguments are passed on
(``--out PATH``, ``--quiet``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from qjobs.cli._sweep import main

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    raise SystemExit(main([str(here / "sweep.toml"), "--emulate", *sys.argv[1:]]))
