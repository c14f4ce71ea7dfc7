"""Without the optional frameworks (the core venv), ``Circuit.from_cirq``/``from_qibo``/
``from_braket`` raise ImportError naming the extra to install; nothing else breaks."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest

from qjobs import Circuit


@pytest.mark.parametrize(
    ("method", "extra"),
    [(Circuit.from_cirq, "cirq"), (Circuit.from_qibo, "qibo"), (Circuit.from_braket, "braket")],
)
def test_missing_framework_names_the_extra(method: Callable[[Any], Circuit], extra: str) -> None:
    if importlib.util.find_spec(extra) is not None:
        pytest.skip(f"{extra} is installed here")
    with pytest.raises(ImportError, match=rf"pip install 'qjobs\[{extra}\]'"):
        method(object())
