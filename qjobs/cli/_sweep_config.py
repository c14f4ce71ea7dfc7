"""Reading a sweep description from a TOML file (the input of ``qjobs sweep FILE.toml``).

The format is documented in ``docs/sweeps.md``. Every error is a :class:`~qjobs.InputError`
whose field is the TOML key at fault (``params.theta.num``, ``limits.batch_size``...). Paths in
the file (``template``, ``out``, ``ledger``) are relative to the file's directory.
"""

from __future__ import annotations

import ast
import math
import operator
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.sweep._result import MAX_POINTS, SweepMode, check_grid_size

__all__ = ["EmulatorSpec", "SweepSpec", "load_spec", "parse_spec"]

_TOP_KEYS = frozenset(
    {
        "template",
        "qasm",
        "params",
        "mode",
        "provider",
        "backend",
        "shots",
        "limits",
        "ledger",
        "emulator",
        "out",
        "base_url",
        "options",
    }
)
#: ``[limits]`` keys given to the scheduler, with their type checks.
_SCHEDULER_LIMITS: dict[str, type] = {
    "max_in_flight": int,
    "batch_size": int,
    "batch_linger": float,
    "poll_initial": float,
    "poll_max": float,
    "poll_factor": float,
    "retry_failed": int,
    "job_timeout": float,
    "unknown_state_timeout": float,
    "resubmit_lost": bool,
}
#: ``[limits]`` keys that configure the client's transport rate limiter.
_CLIENT_LIMITS: dict[str, type] = {"requests_per_second": float, "max_concurrent_requests": int}
_EMULATOR_KEYS: dict[str, type] = {
    "latency_ms": float,
    "queue_ms": float,
    "exec_ms": float,
    "seed": int,
    "fail_rate": float,
}
#: ``[emulator]`` keys that are not numbers: ``faults`` (an array of fault-rule tables).
_EMULATOR_RULES = frozenset({"faults"})
#: Integers in the file (shots, limits, seeds, options) must fit in 64 bits.
_MAX_INT = 2**63 - 1


@attrs.frozen
class EmulatorSpec:
    """The in-process emulator used with ``--emulate`` (times in seconds).

    ``fail_rate`` is the share of jobs that end failed; ``faults`` are fault rules (the tables
    of :func:`qjobs.emulators.serve`'s ``faults``, checked when the file is read).
    """

    latency: float = 0.0
    queue_time: float = 0.0
    exec_time: float = 0.0
    seed: int = 0
    fail_rate: float = 0.0
    faults: tuple[dict[str, Any], ...] = ()


@attrs.frozen
class SweepSpec:
    """A validated sweep description."""

    source: str
    template_name: str
    params: dict[str, npt.NDArray[np.float64]]
    mode: SweepMode
    provider: str
    backend: str | None
    shots: int
    scheduler_limits: dict[str, Any]
    client_limits: dict[str, Any]
    job_options: dict[str, Any]
    ledger: Path | None
    out: Path
    base_url: str | None
    emulator: EmulatorSpec


# ------------------------------------------------------------------ numbers like "pi/2"
_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_CONSTANTS = {"pi": math.pi, "tau": math.tau, "e": math.e}


def _eval_node(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval_node(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval_node(node.left), _eval_node(node.right))
    raise ValueError("unsupported expression")


def _number(value: Any, key: str) -> float:
    """A finite float from a TOML number or a small expression string such as ``"pi/2"``."""
    if isinstance(value, bool):
        raise InputError(key, value, "expected a number")
    if isinstance(value, int | float):
        try:
            out = float(value)
        except OverflowError:  # TOML integers have no size limit
            raise InputError(key, value, "not a finite number: too large for a float") from None
    elif isinstance(value, str) and len(value) <= 200:
        try:
            out = _eval_node(ast.parse(value.strip(), mode="eval"))
        except OverflowError:
            raise InputError(key, value, "not a finite number: too large for a float") from None
        except (SyntaxError, ValueError, ZeroDivisionError):
            raise InputError(
                key, value, "expected a number or an expression of numbers, pi, tau, + - * / **"
            ) from None
    else:
        raise InputError(key, value, "expected a number")
    if not math.isfinite(out):
        raise InputError(key, value, "not a finite number")
    return out


def _integer(value: Any, key: str) -> int:
    """An integer that fits in 64 bits (TOML allows arbitrarily long ones)."""
    if not is_int(value):
        raise InputError(key, value, "expected an integer")
    if abs(value) > _MAX_INT:
        raise InputError(key, value, f"too large (at most {_MAX_INT})")
    return value


def _typed(value: Any, kind: type, key: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise InputError(key, value, "expected true or false")
        return value
    return _integer(value, key) if kind is int else _number(value, key)


def _check_option(value: Any, key: str) -> None:
    """Job options travel as JSON: numbers must be finite and integers fit in 64 bits."""
    if isinstance(value, dict):
        for name, item in value.items():
            _check_option(item, f"{key}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_option(item, f"{key}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InputError(key, value, "not a finite number")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
        raise InputError(key, value, f"too large (at most {_MAX_INT})")


def _check_keys(
    table: Mapping[str, Any], allowed: frozenset[str] | Mapping[str, Any], where: str
) -> None:
    for name in table:
        if name not in allowed:
            prefix = f"{where}." if where else ""
            raise InputError(
                f"{prefix}{name}", table[name], f"unknown key; expected one of {sorted(allowed)}"
            )


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise InputError(key, value, "expected a table")
    return value


# ------------------------------------------------------------------------ parameters
#: A parameter axis: its number of values and how to build them (once the grid size is known).
_Axis = tuple[int, Callable[[], npt.NDArray[np.float64]]]


def _param_axis(name: str, value: Any) -> _Axis:
    """The length of parameter ``name``'s axis and its builder; nothing large is allocated."""
    key = f"params.{name}"
    if isinstance(value, list):
        if not value:
            raise InputError(key, value, "empty list: a parameter needs at least one value")
        if len(value) > MAX_POINTS:
            raise InputError(key, f"<{len(value)} values>", f"more than {MAX_POINTS:,} values")
        values = [_number(v, f"{key}[{i}]") for i, v in enumerate(value)]
        return len(values), lambda: np.array(values, dtype=np.float64)
    if not isinstance(value, dict):
        raise InputError(key, value, "expected a list or a table {start, stop, num|step}")
    _check_keys(value, frozenset({"start", "stop", "num", "step"}), key)
    for needed in ("start", "stop"):
        if needed not in value:
            raise InputError(f"{key}.{needed}", None, "missing")
    start = _number(value["start"], f"{key}.start")
    stop = _number(value["stop"], f"{key}.stop")
    if ("num" in value) == ("step" in value):
        raise InputError(key, value, "give exactly one of 'num' and 'step'")
    if "num" in value:
        num = value["num"]
        if not is_int(num, low=1):
            raise InputError(f"{key}.num", num, "expected a positive integer")
        if num > MAX_POINTS:
            raise InputError(f"{key}.num", num, f"more than {MAX_POINTS:,} points")
        return num, lambda: np.linspace(start, stop, num, dtype=np.float64)
    step = _number(value["step"], f"{key}.step")
    if step == 0 or (stop - start) * step < 0:
        raise InputError(f"{key}.step", value["step"], "does not go from start towards stop")
    # stop is included when it lies on the grid (within rounding).
    span = (stop - start) / step * (1 + 1e-12) + 1e-9
    if not span < MAX_POINTS:  # also catches an overflow to inf
        raise InputError(f"{key}.step", value["step"], f"more than {MAX_POINTS:,} points")
    count = math.floor(span) + 1
    return count, lambda: start + step * np.arange(count, dtype=np.float64)


def _params(raw: Mapping[str, Any], mode: SweepMode) -> dict[str, npt.NDArray[np.float64]]:
    """Every parameter's values, once the whole grid is known to be within :data:`MAX_POINTS`."""
    axes = {name: _param_axis(name, value) for name, value in raw.items()}
    check_grid_size({name: n for name, (n, _) in axes.items()}, mode)
    return {name: build() for name, (_, build) in axes.items()}


# ------------------------------------------------------------------------------ spec
def _path(value: Any, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError(key, value, "expected a path string")
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _string(doc: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = doc.get(key, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise InputError(key, value, "expected a non-empty string")
    return value


def _fault_rules(value: Any) -> tuple[dict[str, Any], ...]:
    """``[[emulator.faults]]``: each rule checked as the emulator will read it."""
    from qjobs.emulators._common.faults import Fault

    key = "emulator.faults"
    if not isinstance(value, list):
        raise InputError(key, value, "expected an array of tables ([[emulator.faults]])")
    rules: list[dict[str, Any]] = []
    for i, rule in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(rule, dict):
            raise InputError(where, rule, "expected a table {kind, route, status, rate, ...}")
        _check_option(rule, where)
        try:
            Fault.from_dict(rule)
        except (ValueError, TypeError) as exc:
            field, sep, reason = str(exc).partition("=")
            if sep and field.isidentifier() and field in rule:
                raise InputError(
                    f"{where}.{field}", rule[field], reason.partition(": ")[2]
                ) from None
            raise InputError(where, rule, str(exc)) from None
        rules.append(dict(rule))
    return tuple(rules)


def _emulator(emu: Mapping[str, Any]) -> EmulatorSpec:
    """The ``[emulator]`` table, checked."""
    _check_keys(emu, {**_EMULATOR_KEYS, **dict.fromkeys(_EMULATOR_RULES)}, "emulator")
    emu_values = {
        name: _typed(v, _EMULATOR_KEYS[name], f"emulator.{name}")
        for name, v in emu.items()
        if name in _EMULATOR_KEYS
    }
    for name, v in emu_values.items():
        if v < 0:
            raise InputError(f"emulator.{name}", v, "must not be negative")
    fail_rate = emu_values.get("fail_rate", 0.0)
    if fail_rate > 1:
        raise InputError("emulator.fail_rate", emu["fail_rate"], "must be between 0 and 1")
    return EmulatorSpec(
        latency=emu_values.get("latency_ms", 0.0) / 1000,
        queue_time=emu_values.get("queue_ms", 0.0) / 1000,
        exec_time=emu_values.get("exec_ms", 0.0) / 1000,
        seed=emu_values.get("seed", 0),
        fail_rate=fail_rate,
        faults=_fault_rules(emu["faults"]) if "faults" in emu else (),
    )


def parse_spec(doc: Mapping[str, Any], base: Path, *, default_out: Path) -> SweepSpec:
    """Validate a parsed TOML document; ``base`` resolves relative paths."""
    _check_keys(doc, _TOP_KEYS, "")
    # template
    if ("template" in doc) == ("qasm" in doc):
        raise InputError(
            "template", doc.get("template"), "give exactly one of 'template' and 'qasm'"
        )
    if "template" in doc:
        tpath = _path(doc["template"], "template", base)
        try:
            source = tpath.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                "template", doc["template"], f"cannot read {tpath}: {exc.strerror}"
            ) from None
        template_name = tpath.stem
    else:
        source = doc["qasm"]
        if not isinstance(source, str) or not source.strip():
            raise InputError("qasm", source, "expected OpenQASM source text")
        template_name = "qasm"
    # params
    raw_params = _table(doc, "params")
    if not raw_params:
        raise InputError("params", raw_params, "at least one parameter is needed")
    mode = doc.get("mode", "product")
    if mode not in ("product", "zip"):
        raise InputError("mode", mode, "expected 'product' or 'zip'")
    params = _params(raw_params, mode)
    provider = _string(doc, "provider", "ionq")
    assert provider is not None
    backend = _string(doc, "backend", None)
    shots = _integer(doc.get("shots", 100), "shots")
    if shots < 1:
        raise InputError("shots", shots, "expected a positive integer")
    # limits
    limits = _table(doc, "limits")
    _check_keys(limits, {**_SCHEDULER_LIMITS, **_CLIENT_LIMITS}, "limits")
    scheduler_limits: dict[str, Any] = {}
    client_limits: dict[str, Any] = {}
    for name, value in limits.items():
        kind = _SCHEDULER_LIMITS.get(name) or _CLIENT_LIMITS[name]
        checked = _typed(value, kind, f"limits.{name}")
        if kind is not bool and (checked < 0 or (checked == 0 and name != "retry_failed")):
            raise InputError(f"limits.{name}", value, "must be positive")
        (scheduler_limits if name in _SCHEDULER_LIMITS else client_limits)[name] = checked
    # emulator
    emulator = _emulator(_table(doc, "emulator"))
    options = _table(doc, "options")
    _check_option(options, "options")
    ledger = _path(doc["ledger"], "ledger", base) if "ledger" in doc else None
    out = _path(doc["out"], "out", base) if "out" in doc else default_out
    return SweepSpec(
        source=source,
        template_name=template_name,
        params=params,
        mode=mode,
        provider=provider,
        backend=backend,
        shots=shots,
        scheduler_limits=scheduler_limits,
        client_limits=client_limits,
        job_options=dict(options),
        ledger=ledger,
        out=out,
        base_url=_string(doc, "base_url", None),
        emulator=emulator,
    )


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep TOML file."""
    file = Path(path)
    try:
        with file.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise InputError("file", str(file), f"cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: a 5000-digit integer
        raise InputError("file", str(file), f"invalid TOML: {exc}") from None
    return parse_spec(doc, file.resolve().parent, default_out=Path(file.stem + ".npz"))
