"""The peer tables of ``docs/benchmarks.md``: one per peer scenario that has results."""

from __future__ import annotations

from typing import Any

__all__ = ["peer_sections"]


def _f(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.{digits}f}"


def _x(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _row(provider: str, run: dict[str, Any], versus: str, share: str | None) -> str:
    if run.get("error"):
        note = str(run["error"]).splitlines()[-1][:160].replace("|", "/")
        rate = f"**failed**: {note}"
    else:
        rate = _f(run["circuits_per_s"])
    cells = [
        provider,
        run["sdk"],
        f"{run['circuits']:,}",
        _f(run.get("wall_s"), 2),
        rate,
        _f(run["jobs_per_s"]),
        _f(run["requests_per_job"], 2),
        f"{run['rate_limited']} ({run['rate_limited_share'] * 100:.1f}%)",
        f"{run['jobs_per_circuit']:.3f}",
        f"{run['created_per_circuit']:.3f}",
        str(run["duplicates"]),
        versus,
    ]
    if share is not None:
        cells.append(share)
    return "| " + " | ".join(cells) + " |"


def _table(doc: dict[str, Any]) -> list[str]:
    limited = bool(doc.get("limited"))
    head = (
        "| provider | client | circuits | wall (s) | circuits/s | jobs/s | requests/job "
        "| 429s (share of requests) | jobs/circuit | circuits created/circuit | duplicates "
        "| qjobs ÷ peer (circuits/s) |"
    )
    rule = "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    if limited:
        head += f" share of what {doc['rate_limit']:g} req/s allow |"
        rule += "--:|"
    lines = [head, rule]
    for provider, entry in doc["peers"].items():
        shares = entry.get("limit_share") or {}
        for key in ("peer", "qjobs"):
            run = entry[key]
            versus = _x(entry.get("speedup")) if key == "qjobs" else ""
            lines.append(_row(provider, run, versus, _pct(shares.get(key)) if limited else None))
    return lines


def peer_sections(results: list[dict[str, Any]]) -> list[str]:
    """Markdown for the peer scenarios among ``results`` (none: no lines)."""
    docs = [d for d in results if "peers" in d and not d.get("error")]
    if not docs:
        return []
    first = docs[0]
    lines = [
        "## Official SDKs side by side",
        "",
        "Each provider's official SDK, written as its users would at their best and run from the "
        "interop venv, against qjobs with its defaults "
        f"(`{first['qjobs_how']}`), on the same emulator process in the same run:",
        "",
    ]
    lines += [f"- **{p}**: `{s['how']}`" for p, s in first["sdks"].items()]
    lines += [
        "",
        "Request and 429 counts are the emulator's (`GET /_qjobs/stats`); duplicates are circuits "
        "the emulator saw in more than one created job (every circuit of a run is distinct). "
        "Under the server limit, the throughput the limit allows a client is the limit times its "
        "circuits per answered request (a 429 spends none of the budget). That bound is reached "
        "only by a run whose requests, not its jobs' queue and execution time, set its pace: "
        "one circuit per job (Kipu's simulator, Qibo), or a batched run (IonQ, qBraid, QPI) "
        "large enough that its few requests take longer at the limit than its jobs take to run.",
        "",
        "QPI's row cannot reach 3x: qpi-client already sends every circuit as one job, and a "
        "QPI QPU runs one job at a time (its emulator too), so qjobs, which also sends one job, "
        "can win only the peer's 0.5 s poll granularity. Both pay the same catalogue read, "
        "upload, 0.5 s queue, 0.2 s execution and result computation (about 0.98 s for 500 "
        "circuits), so about 1.3x is the ceiling of this scenario.",
        "",
    ]
    for doc in docs:
        lines += [f"### {doc['title']}", "", doc["description"], "", *_table(doc), ""]
    lines += _kept(docs)
    return lines


def _kept(docs: list[dict[str, Any]]) -> list[str]:
    """What qjobs kept under the server limit of its own no-limit throughput, per provider run on
    the same circuits in both scenarios: the measure for runs the limit does not bind."""
    free = next((d for d in docs if not d.get("limited")), None)
    capped = next((d for d in docs if d.get("limited")), None)
    if free is None or capped is None:
        return []
    kept = []
    for provider, entry in capped["peers"].items():
        mine, before = entry["qjobs"], free["peers"].get(provider, {}).get("qjobs")
        if (
            before is None
            or before["circuits"] != mine["circuits"]
            or not mine.get("circuits_per_s")
            or not before.get("circuits_per_s")
        ):
            continue
        kept.append(f"{provider} {mine['circuits_per_s'] / before['circuits_per_s']:.2f}")
    if not kept:
        return []
    return [
        f"qjobs under the {capped['rate_limit']:g} req/s limit ÷ qjobs without it, on the same "
        "circuits (a run the limit does not bind should keep about 1.00): " + ", ".join(kept) + ".",
        "",
    ]
