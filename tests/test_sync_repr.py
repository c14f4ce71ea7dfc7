"""qjobs_sync objects print as themselves: the twin's own name and what the async repr says."""

from __future__ import annotations

import qjobs
import qjobs_sync
from qjobs_sync._portal import _repr_detail
from qjobs_sync.providers.kipu import KipuClient

TOKEN = "sync-repr-secret-token-1234"


def test_clients_and_resources_have_readable_reprs() -> None:
    with (
        qjobs_sync.emulators.serve("kipu") as kipu_srv,
        qjobs_sync.emulators.serve("ionq") as ionq_srv,
        qjobs_sync.connect("kipu", token=TOKEN, base_url=kipu_srv.base_url) as kipu,
        qjobs_sync.connect("ionq", token=TOKEN, base_url=ionq_srv.base_url) as ionq,
    ):
        assert isinstance(kipu, KipuClient)
        assert repr(kipu) == f"<qjobs_sync.providers.kipu.KipuClient {kipu_srv.base_url}>"
        assert repr(ionq) == f"<qjobs_sync.providers.ionq.IonQClient {ionq_srv.base_url}>"
        assert repr(kipu.jobs) == "<qjobs_sync.providers.kipu.JobsAPI>"
        with qjobs_sync.Scheduler(ionq, backend="simulator", shots=10) as sched:
            shown = repr(sched)
        assert shown.startswith("<qjobs_sync.scheduler.Scheduler ionq total=0 ")
        for text in (repr(kipu), repr(ionq), repr(kipu.jobs), shown):
            assert TOKEN not in text
            assert "object at 0x" not in text
            assert "<qjobs_sync <" not in text


def test_repr_detail_strips_the_class_name_only() -> None:
    assert _repr_detail("<Transport provider='x'>", qjobs.transport.Transport) == "provider='x'"
    assert _repr_detail("plain", object) == "plain"
    assert _repr_detail("<Other thing>", qjobs.transport.Transport) == "Other thing"
    assert _repr_detail(f"<{__name__}.X object at 0x1>", type("X", (), {})) == ""
