"""Wire codecs: pure conversions between the circuit IR and providers' circuit formats.

One module per provider (``qjobs.codecs.ionq``, ...). Codecs do no I/O; they validate input and
raise :class:`~qjobs.InputError` for circuits a provider's format cannot carry.
"""

from __future__ import annotations

__all__: list[str] = []
