"""Hostile result bodies and a tiny fake server on 127.0.0.1 that serves them.

Shared by ``tests/test_hostile_results.py`` and ``tests/hostile_child.py`` (the memory-limited
subprocess). Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import orjson
from aiohttp import web

from qjobs import Circuit, Instruction

BELL = Circuit(
    2,
    2,
    (
        Instruction("h", (0,)),
        Instruction("cx", (0, 1)),
        Instruction("measure", (0,), (), (0,)),
        Instruction("measure", (1,), (), (1,)),
    ),
)


class FakeServer:
    """Serves ``routes`` (path suffix -> JSON body, bytes, or None for 204); counts hits."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self.routes = dict(routes)
        self.hits: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.headers.append(dict(request.headers))
        for suffix, body in self.routes.items():
            if request.path.endswith(suffix):
                if body is None:
                    return web.Response(status=204)
                if isinstance(body, bytes):
                    return web.Response(body=body, content_type="application/octet-stream")
                return web.Response(body=orjson.dumps(body), content_type="application/json")
        return web.Response(status=404, text='{"error": "not found"}')


@asynccontextmanager
async def fake_server(routes: Mapping[str, Any], prefix: str = "") -> AsyncIterator[FakeServer]:
    """Run a :class:`FakeServer` on 127.0.0.1 (a free port) for the duration of the block."""
    server = FakeServer(routes)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}{prefix}"
    try:
        yield server
    finally:
        await runner.cleanup()


def npy(payload: Any) -> bytes:
    """A ``results.npy`` holding ``payload`` as ``np.save`` writes a dict."""
    out = io.BytesIO()
    np.save(out, np.array(payload, dtype=object), allow_pickle=True)
    return out.getvalue()


def npy_pickle(raw: bytes) -> bytes:
    """A ``results.npy`` whose object payload is the raw pickle ``raw``."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "|O", "fortran_order": False, "shape": ()})
    return out.getvalue() + raw


def tar_gz(*members: tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def longname_archive(claimed: int) -> bytes:
    """A small gzip tar whose first header is a GNU long name of ``claimed`` bytes.

    ``tarfile`` reads the whole long name into memory (and decodes it) before any member
    check: a few hundred KB of gzip make it allocate well over ``claimed`` bytes.
    """
    header = tarfile.TarInfo("././@LongLink")
    header.type = tarfile.GNUTYPE_LONGNAME
    header.size = claimed
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        gz.write(header.tobuf(format=tarfile.GNU_FORMAT))
        chunk = b"a" * 2**20
        left = -(-claimed // 512) * 512
        while left:
            step = min(left, len(chunk))
            gz.write(chunk[:step])
            left -= step
        info = tarfile.TarInfo("results.npy")
        gz.write(info.tobuf(format=tarfile.GNU_FORMAT))
        gz.write(b"\0" * 1024)
    return out.getvalue()


def bytearray_npy(size: int) -> bytes:
    """A results.npy pickle that calls ``bytearray(size)``."""
    raw = (
        b"\x80\x03}q\x00X\x05\x00\x00\x00dtypeq\x01cbuiltins\nbytearray\nq\x02"
        + b"J"
        + int(size).to_bytes(4, "little")
        + b"\x85q\x03Rq\x04s."
    )
    pickle.loads(raw.replace(int(size).to_bytes(4, "little"), (4).to_bytes(4, "little")))
    return npy_pickle(raw)


def samples_npy(width: int, shots: int = 4) -> bytes:
    """A results.npy with ``samples`` of ``width`` columns (no measurement gates)."""
    return npy(
        {
            "dtype": "MeasurementOutcomes",
            "measurements": [],
            "samples": np.zeros((shots, width), dtype=np.int64),
            "nshots": shots,
        }
    )
