"""Shared emulator machinery: clock, lifecycle, stats, faults, middlewares, reserved routes.

The middlewares are exercised through a tiny app built with ``make_app`` (as a future provider
emulator would), registered under a test name.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from qjobs.emulators import EMULATORS, Clock, Server, serve
from qjobs.emulators._common import (
    AuthScheme,
    EmulatorContext,
    EmulatorOptions,
    HTTPProblem,
    json_response,
    make_app,
)
from qjobs.emulators._common.clock import Lifecycle, Phase
from qjobs.emulators._common.faults import Fault, FaultInjector, parse_faults
from qjobs.emulators._common.stats import EmulatorStats

# -- clock and lifecycle -------------------------------------------------------------------------


def test_clock_advances_and_formats() -> None:
    clock = Clock(lambda: 100.0)
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    stamp = clock.iso(clock.now())
    assert stamp.endswith("Z")
    assert len(stamp) == len("2025-05-28T20:47:05.440Z")


def test_lifecycle_phases_from_elapsed_time() -> None:
    lc = Lifecycle(submitted=10.0, queue_time=2.0, exec_time=3.0)
    assert [lc.phase(t) for t in (10.0, 11.9, 12.0, 14.9, 15.0, 99.0)] == [
        Phase.QUEUED,
        Phase.QUEUED,
        Phase.RUNNING,
        Phase.RUNNING,
        Phase.DONE,
        Phase.DONE,
    ]
    assert lc.end == 15.0
    failing = Lifecycle(0.0, 0.0, 0.0, fails=True)
    assert failing.phase(0.0) is Phase.FAILED


def test_cancel_freezes_and_final_jobs_do_not_cancel() -> None:
    lc = Lifecycle(0.0, 5.0, 5.0)
    assert lc.cancel(1.0)
    assert lc.phase(100.0) is Phase.CANCELED
    assert lc.end == 1.0
    assert not lc.cancel(2.0)
    done = Lifecycle(0.0, 1.0, 1.0)
    assert not done.cancel(3.0)
    assert done.phase(3.0) is Phase.DONE


def test_peak_active_jobs_from_lifetimes() -> None:
    clock = Clock(lambda: 0.0)
    stats = EmulatorStats(clock)
    # [0, 4), [1, 3), [2, 6) overlap 3 deep at t=2; [10, 11) is alone.
    for start, length in ((0.0, 4.0), (1.0, 2.0), (2.0, 4.0), (10.0, 1.0)):
        stats.track_job(Lifecycle(start, 0.0, length))
    assert stats.jobs_created == 4
    assert stats.peak_active_jobs == 3
    clock.advance(2.5)
    assert stats.active_jobs == 3
    clock.advance(10.0)
    assert stats.active_jobs == 0
    snap = stats.snapshot()
    assert snap["peak_active_jobs"] == 3
    assert snap["jobs_created"] == 4
    json.dumps(snap)
    stats.reset()
    assert stats.jobs_created == 0
    assert stats.peak_active_jobs == 0


def test_instant_jobs_count_once_and_cancel_shortens_lifetime() -> None:
    clock = Clock(lambda: 0.0)
    stats = EmulatorStats(clock)
    stats.track_job(Lifecycle(0.0, 0.0, 0.0))
    assert stats.peak_active_jobs == 1
    a, b = Lifecycle(1.0, 5.0, 5.0), Lifecycle(3.0, 1.0, 1.0)
    a.cancel(2.0)
    stats.track_job(a)
    stats.track_job(b)
    assert stats.peak_active_jobs == 1


# -- fault rules ---------------------------------------------------------------------------------


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        Fault(kind="explode")
    with pytest.raises(ValueError, match="rate"):
        Fault(rate=1.5)
    with pytest.raises(ValueError, match="status"):
        Fault(kind="status", status=200)
    with pytest.raises(ValueError, match="unknown fault field"):
        Fault.from_dict({"kind": "drop", "bogus": 1})
    with pytest.raises(ValueError, match="count"):
        Fault.from_dict({"kind": "drop", "count": "2"})
    with pytest.raises(ValueError, match="method"):
        Fault(route="FETCH /jobs")
    assert Fault(kind="rate_limit").status == 429
    assert Fault(kind="rate_limit").retry_after == 1.0


def test_fault_route_patterns() -> None:
    post_jobs = Fault(route="POST /jobs")
    assert post_jobs.matches("POST", "/jobs", "/jobs")
    assert not post_jobs.matches("GET", "/jobs", "/jobs")
    assert not post_jobs.matches("POST", "/jobs/{id}", "/jobs/abc")
    template = Fault(route="GET /jobs/{id}")
    assert template.matches("GET", "/jobs/{id}", "/jobs/abc")
    glob = Fault(route="/jobs/*")
    assert glob.matches("PUT", "/jobs/{id}/status/cancel", "/jobs/a/status/cancel")
    assert Fault(route="*").matches("DELETE", "/x", "/x")
    assert Fault(route="get /jobs/abc").matches("GET", "/jobs/{id}", "/jobs/abc")


def test_fault_count_skip_and_seeded_rate() -> None:
    counted = FaultInjector(0, [{"kind": "status", "status": 503, "count": 2, "skip": 1}])
    fired = [counted.decide("GET", "/a", "/a").fault is not None for _ in range(5)]
    assert fired == [False, True, True, False, False]
    assert counted.faults[0].seen == 5
    assert counted.faults[0].fired == 2

    def pattern(seed: int) -> list[bool]:
        inj = FaultInjector(seed, [Fault(kind="drop", rate=0.3)])
        return [inj.decide("GET", "/a", "/a").fault is not None for _ in range(200)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 30 < sum(pattern(7)) < 90


def test_slow_faults_add_up_and_first_other_wins() -> None:
    inj = FaultInjector(
        0,
        [
            {"kind": "slow", "delay_ms": 5},
            {"kind": "slow", "delay_ms": 7},
            {"kind": "status", "status": 502},
            {"kind": "drop"},
        ],
    )
    decision = inj.decide("GET", "/a", "/a")
    assert decision.delay == pytest.approx(0.012)
    assert decision.fault is not None
    assert decision.fault.status == 502


def test_parse_faults_forms() -> None:
    assert parse_faults(None) == []
    assert len(parse_faults({"faults": [{"kind": "drop"}, {"kind": "malformed"}]})) == 2
    assert parse_faults({"kind": "drop"})[0].kind == "drop"
    original = Fault(kind="drop")
    copy = parse_faults([original])[0]
    assert copy == original
    assert copy is not original
    with pytest.raises(ValueError, match="must be a list"):
        parse_faults({"faults": "drop"})


def test_options_validation() -> None:
    with pytest.raises(ValueError, match="latency"):
        EmulatorOptions(latency=-1)
    with pytest.raises(ValueError, match="fail_rate"):
        EmulatorOptions(fail_rate=2)


def test_context_ids_are_seeded_uuid4() -> None:
    a = EmulatorContext(EmulatorOptions(seed=3))
    b = EmulatorContext(EmulatorOptions(seed=3))
    ids = [a.new_uuid() for _ in range(3)]
    assert ids == [b.new_uuid() for _ in range(3)]
    assert len(set(ids)) == 3
    for value in ids:
        assert value[14] == "4"
        assert value[19] in "89ab"
    assert a.job_rng(1).integers(1 << 30) == b.job_rng(1).integers(1 << 30)


# -- a toy emulator through serve() --------------------------------------------------------------


class Toy:
    """Counts handled requests, so drop vs drop_after is observable."""

    def __init__(self) -> None:
        self.handled = 0


TOY = web.AppKey("toy", Toy)


def _toy_error(status: int, message: str, error_type: str | None = None) -> web.Response:
    return json_response({"error": {"type": error_type or "Error", "message": message}}, status)


def toy_app(ctx: EmulatorContext) -> web.Application:
    def token_of(request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    app = make_app(
        ctx,
        prefix="/toy",
        auth=AuthScheme(token_of, lambda method, template: template == "/public"),
        errors=_toy_error,
    )
    app[TOY] = Toy()

    async def things(request: web.Request) -> web.Response:
        request.app[TOY].handled += 1
        return json_response({"things": list(range(20))}, status=201)

    async def thing(request: web.Request) -> web.Response:
        if request.match_info["id"] == "missing":
            raise HTTPProblem(404, "no such thing", "NotFound")
        return json_response({"id": request.match_info["id"]})

    async def public(request: web.Request) -> web.Response:
        return json_response({"ok": True})

    app.router.add_post("/toy/things", things)
    app.router.add_get("/toy/things/{id}", thing)
    app.router.add_get("/toy/public", public)
    return app


AUTH = {"Authorization": "Bearer secret"}


@pytest.fixture
async def toy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    monkeypatch.setitem(EMULATORS, "toy", toy_app)
    async with serve("toy", tokens=["secret"], seed=1) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def handled(server: Server) -> int:
    return server.app[TOY].handled


@pytest.mark.anyio
async def test_serve_base_url_and_unknown_name(toy: Server, http: aiohttp.ClientSession) -> None:
    assert toy.base_url.startswith("http://127.0.0.1:")
    assert toy.base_url.endswith("/toy")
    assert toy.base_url == toy.root_url + "/toy"
    async with http.get(f"{toy.base_url}/things/a", headers=AUTH) as r:
        assert r.status == 200
        assert await r.json() == {"id": "a"}
    with pytest.raises(ValueError, match="unknown emulator"):
        async with serve("nope"):
            pass


@pytest.mark.anyio
async def test_auth_and_errors(toy: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{toy.base_url}/things/a") as r:
        assert r.status == 401
        body = await r.json()
        assert body["error"]["type"] == "Unauthorized"
    async with http.get(f"{toy.base_url}/things/a", headers={"Authorization": "Bearer no"}) as r:
        assert r.status == 401
    async with http.get(f"{toy.base_url}/public") as r:
        assert r.status == 200
    async with http.get(f"{toy.base_url}/things/missing", headers=AUTH) as r:
        assert r.status == 404
        assert (await r.json())["error"] == {"type": "NotFound", "message": "no such thing"}
    async with http.get(f"{toy.base_url}/nowhere", headers=AUTH) as r:
        assert r.status == 404
        assert "message" in (await r.json())["error"]
    async with http.delete(f"{toy.base_url}/things/a", headers=AUTH) as r:
        assert r.status == 405
    assert toy.stats.statuses[401] == 2
    assert toy.stats.requests["GET /things/{id}"] == 3


@pytest.mark.anyio
async def test_status_and_rate_limit_faults(toy: Server, http: aiohttp.ClientSession) -> None:
    toy.set_faults(
        [
            {
                "route": "POST /things",
                "kind": "status",
                "status": 503,
                "count": 1,
                "retry_after": 2,
            },
            {"route": "POST /things", "kind": "rate_limit", "count": 1, "retry_after": 0.5},
            {"route": "POST /things", "kind": "status", "status": 504, "count": 1},
        ]
    )
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert r.status == 503
        assert r.headers["Retry-After"] == "2"
        assert (await r.json())["error"]["message"].startswith("injected fault")
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert r.status == 429
        assert r.headers["Retry-After"] == "0.5"
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert r.status == 504
        assert "Retry-After" not in r.headers
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert r.status == 201
    assert handled(toy) == 1
    assert toy.stats.faults_injected == {"status": 2, "rate_limit": 1}
    assert [f.fired for f in toy.faults] == [1, 1, 1]


@pytest.mark.anyio
async def test_drop_closes_before_handling(toy: Server, http: aiohttp.ClientSession) -> None:
    toy.set_faults([{"route": "POST /things", "kind": "drop", "count": 1}])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(f"{toy.base_url}/things", headers=AUTH):
            pass
    assert handled(toy) == 0
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert r.status == 201
    assert handled(toy) == 1


@pytest.mark.anyio
async def test_drop_after_handles_then_closes(toy: Server, http: aiohttp.ClientSession) -> None:
    toy.set_faults([{"route": "POST /things", "kind": "drop_after", "count": 1}])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(f"{toy.base_url}/things", headers=AUTH):
            pass
    assert handled(toy) == 1
    assert toy.stats.faults_injected["drop_after"] == 1


@pytest.mark.anyio
async def test_malformed_and_slow(toy: Server, http: aiohttp.ClientSession) -> None:
    toy.set_faults(
        [
            {"route": "POST /things", "kind": "slow", "delay_ms": 1},
            {"route": "POST /things", "kind": "malformed"},
        ]
    )
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert r.status == 201
        raw = await r.read()
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    assert raw.startswith(b'{"things":')
    assert toy.stats.faults_injected == {"slow": 1, "malformed": 1}
    toy.clear_faults()
    async with http.post(f"{toy.base_url}/things", headers=AUTH) as r:
        assert (await r.json())["things"][-1] == 19


@pytest.mark.anyio
async def test_reserved_routes(toy: Server, http: aiohttp.ClientSession) -> None:
    root = toy.root_url
    body: dict[str, Any] = {"faults": [{"route": "GET /things/{id}", "kind": "status"}]}
    async with http.post(f"{root}/_qjobs/faults", json=body) as r:
        assert r.status == 200
        listed = (await r.json())["faults"]
        assert listed[0]["kind"] == "status"
        assert listed[0]["status"] == 500
    async with http.get(f"{toy.base_url}/things/a", headers=AUTH) as r:
        assert r.status == 500
    async with http.post(f"{root}/_qjobs/faults", json={"kind": "drop", "append": True}) as r:
        assert len((await r.json())["faults"]) == 2
    async with http.get(f"{root}/_qjobs/faults") as r:
        assert [f["kind"] for f in (await r.json())["faults"]] == ["status", "drop"]
    async with http.post(f"{root}/_qjobs/faults", json={"kind": "boom"}) as r:
        assert r.status == 400
        assert "boom" in (await r.json())["error"]["message"]
    async with http.post(f"{root}/_qjobs/faults", data=b"{nope") as r:
        assert r.status == 400
    async with http.delete(f"{root}/_qjobs/faults") as r:
        assert (await r.json()) == {"faults": []}
    assert toy.faults == []
    async with http.get(f"{toy.base_url}/things/a", headers=AUTH) as r:
        assert r.status == 200
    async with http.get(f"{root}/_qjobs/stats") as r:
        stats = await r.json()
    # Reserved routes are not counted; the two GETs of the provider route are.
    assert stats["requests"] == {"GET /things/{id}": 2}
    assert stats["statuses"] == {"200": 1, "500": 1}
    assert stats["total_requests"] == 2
    assert stats["bytes_sent"] > 0
    async with http.delete(f"{root}/_qjobs/stats") as r:
        assert (await r.json())["total_requests"] == 0


@pytest.mark.anyio
async def test_faults_at_construction_and_latency(
    monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    monkeypatch.setitem(EMULATORS, "toy", toy_app)
    async with serve(
        "toy", latency=0.001, faults=[{"route": "POST /things", "kind": "status", "count": 1}]
    ) as server:
        async with http.post(f"{server.base_url}/things", headers=AUTH) as r:
            assert r.status == 500
        async with http.post(
            f"{server.base_url}/things", headers={"Authorization": "Bearer x"}
        ) as r:
            assert r.status == 201  # tokens=None accepts any non-empty token
        async with http.post(
            f"{server.base_url}/things", headers={"Authorization": "Bearer "}
        ) as r:
            assert r.status == 401
