"""SIGKILL of the deliverer, again and again, at random moments, while it sends to a real (slow) SMTP
server; then one run after the leases have run out.

Nothing is lost: every queued mail reaches the server. A mail is sent twice only if the server had
taken it and the killed deliverer had not yet written it down (it records outcomes in batches, up to
notifications.delivery.RECORD_SECONDS later): SMTP gives no way to make that window empty, so the
test measures it instead of hiding it, and every other mail arrives exactly once. The cases stay
whole: the outbox rows are all `sent` with one attempt, the history chains verify.
(tests/integration/test_delivery_outage.py kills the deliverer once while the server holds a DATA.)
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from notifications.delivery import CONNECTIONS

from tests.faults.support import record, size
from tests.integration.test_delivery import Recorder
from tests.integration.test_delivery_outage import ROOT, Server, _child_env, _documents, _rows, _set

pytestmark = pytest.mark.db

SECRET = "fault-kill-test-secret-" + "k" * 32


class Slow(Recorder):
    """Takes each message after a short pause, so a kill lands in the middle of a delivery."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.03)
        return await super().handle_DATA(server, session, envelope)


def _ids(recorder: Recorder) -> list[str]:
    with recorder.lock:
        return [m["msg"]["Message-ID"] for m in recorder.messages]


def test_repeated_sigkills_of_the_deliverer_lose_nothing(demo, clock, monkeypatch):
    from qcflow.services import audit
    from qcflow.services.mail import deliver_outbox
    from qcflow.store.db import unit_of_work

    kills, documents = size(2, 25), size(10, 120)
    server = Server(Slow()).start()
    try:
        _set(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, secret_key=SECRET, outbox_lease_seconds=60)
        _documents(documents)
        queued = {r.message_id for r in _rows()}
        assert len(queued) == 3 * documents
        rng = random.Random(7)
        at_risk: set[str] = set()
        landed = 0
        for _ in range(kills):
            env = {**_child_env(), "QCFLOW_FIXED_NOW": clock.now().isoformat()}
            before = len(_ids(server.recorder))
            child = subprocess.Popen([sys.executable, "-m", "qcflow", "outbox", "deliver"], env=env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 60
                while len(_ids(server.recorder)) == before and child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)  # wait for the first mail of this run: the kill lands mid-delivery
                time.sleep(rng.uniform(0, 0.4))
                if child.poll() is None:
                    os.kill(child.pid, signal.SIGKILL)
                    landed += 1
                child.wait(10)
            finally:
                if child.poll() is None:
                    child.kill()
            time.sleep(0.2)  # let the server finish what it was taking when the client died
            sent = {r.message_id for r in _rows() if r.status == "sent"}
            at_risk |= set(_ids(server.recorder)) - sent  # taken by the server, not yet written down
            clock.advance(seconds=61)  # the dead deliverer's leases run out
        assert landed >= 1

        for _ in range(10):  # the next runs of deliver-outbox, once the leases are free
            if deliver_outbox().sent == 0 and all(r.status == "sent" for r in _rows()):
                break
            clock.advance(seconds=61)
        rows = _rows()
        received = Counter(_ids(server.recorder))
        lost = queued - set(received)
        duplicated = {m for m, n in received.items() if n > 1}
        assert not lost, sorted(lost)[:5]
        assert duplicated <= at_risk, sorted(duplicated - at_risk)[:5]  # twice only inside the window
        # A sent mail is recorded at once, so a kill can resend at most what was in flight on each connection.
        assert len(duplicated) <= CONNECTIONS * landed, (len(duplicated), landed)
        assert all(n <= 1 + kills for n in received.values()), Counter(received.values())
        assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
        with unit_of_work(read_only=True) as s:
            report = audit.verify(s)
        assert report.intact, report.as_dict()["broken"][:3]
        record("deliverer_kills", kills=landed, mails=len(queued), lost=len(lost),
               duplicated=len(duplicated), duplicated_inside_record_window=len(duplicated & at_risk),
               acknowledged_not_yet_recorded=len(at_risk))
    finally:
        server.stop()
