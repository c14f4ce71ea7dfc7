"""The `make run` demo: the example sweep (examples/sweep.toml) on the embedded IonQ emulator.

Equivalent to ``qjobs sweep examples/sweep.toml --emulate --plot out/sweep.png --plot-of ZZII``;
extra arguments are passed on (``--out PATH``, ``--quiet``, ``--plot PATH``). The heat map of
⟨ZZII⟩ over the grid is drawn beside the ``.npz`` when matplotlib is installed (``qjobs[plot]``;
the dev venv has it).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from qjobs.cli._sweep import main


def arguments(argv: list[str]) -> list[str]:
    """The ``qjobs sweep`` arguments of the demo, given the extra ones."""
    here = Path(__file__).resolve().parent
    args = [str(here / "sweep.toml"), "--emulate", *argv]
    if "--plot" not in argv and importlib.util.find_spec("matplotlib") is not None:
        given = argv.index("--out") + 1 if "--out" in argv else None
        out = Path(argv[given]) if given is not None and given < len(argv) else None
        npz = out if out is not None else here.parent / "out" / "sweep.npz"
        args += ["--plot", str(npz.with_suffix(".png")), "--plot-of", "ZZII"]
    return args


if __name__ == "__main__":
    raise SystemExit(main(arguments(sys.argv[1:])))
