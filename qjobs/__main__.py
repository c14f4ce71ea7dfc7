"""``python -m qjobs``: the ``qjobs`` command."""

from __future__ import annotations

import sys

from qjobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
