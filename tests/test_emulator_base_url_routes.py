"""The reserved ``/_qjobs/`` routes answer under every emulator's base URL too, and an unknown
emulator name is a typed :class:`qjobs.InputError`, as :func:`qjobs.connect` raises.

A user who copies the base URL printed by ``qjobs emulate`` and appends ``/_qjobs/stats`` gets
the statistics, not the provider's 401.
"""

from __future__ import annotations

import aiohttp
import pytest

import qjobs
from qjobs.emulators import names, serve, serve_many

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", names())
async def test_stats_and_faults_under_the_base_url(name: str) -> None:
    async with serve(name) as server, aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/_qjobs/stats") as r:
            assert r.status == 200
            under_base = await r.json()
        async with http.get(server.root_url + "/_qjobs/stats") as r:
            assert r.status == 200
            at_root = await r.json()
        assert under_base == at_root
        assert under_base["total_requests"] == 0  # reserved routes are not counted
        async with http.post(
            server.base_url + "/_qjobs/faults",
            json=[{"route": "GET /nothing", "kind": "status", "status": 503, "count": 1}],
        ) as r:
            assert r.status == 200
        assert len(server.faults) == 1
        async with http.delete(server.base_url + "/_qjobs/faults") as r:
            assert r.status == 200
        assert server.faults == []


@pytest.mark.parametrize("name", ["ionq", "kipu", "qbraid"])
async def test_stats_under_the_base_url_when_mounted(name: str) -> None:
    async with serve_many([name]) as servers, aiohttp.ClientSession() as http:
        server = servers[name]
        async with http.get(server.base_url + "/_qjobs/stats") as r:
            assert r.status == 200
            assert "total_requests" in await r.json()


async def test_unknown_emulator_is_an_input_error_naming_the_field() -> None:
    with pytest.raises(qjobs.InputError) as info:
        async with serve("ionqq"):
            pass
    assert info.value.field == "name"
    assert info.value.value == "ionqq"
    for known in names():
        assert known in info.value.reason
    with pytest.raises(qjobs.InputError) as many:
        async with serve_many(["ionq", "ionq"]):
            pass
    assert many.value.field == "names"
    with pytest.raises(qjobs.InputError, match="names="):
        async with serve_many([]):
            pass
