"""SIGKILL of the web process (`uvicorn web.app:app`, a child process) while reviewers' POSTs from
their emailed links are in flight; then the server is started again and whoever got no answer
submits again.

Nothing lost: a decision that got its answer (303) is in the database. Nothing duplicated: each
document has exactly one decision, however many times it was submitted. Each case is whole: its
version counts its history, its state is where its history ends, its links agree (used exactly by
the decision), and the history's hash chains verify.
"""
from __future__ import annotations

import os
from email.utils import parseaddr
import random
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlmodel import select

from tests.e2e.formpost import hidden_fields
from tests.faults.support import record, size
from tests.helpers import REVIEWER, REVIEWER2, SECRETARY, SECTION_HEAD, fire, new_document
from tests.smtp import SmtpServer, free_port, link_in

pytestmark = pytest.mark.db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "fault-web-kill-secret-" + "w" * 32
REVIEWERS = (REVIEWER, REVIEWER2, SECTION_HEAD)


def _start(port: int, env: dict) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-m", "uvicorn", "web.app:app", "--host", "127.0.0.1",
                              "--port", str(port), "--log-level", "warning"],
                             env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return child
        except httpx.HTTPError:
            time.sleep(0.1)
    child.kill()
    raise AssertionError(f"the web process did not start: {child.stderr.read().decode()[-2000:]}")


def _decide(link: str, outcome: dict) -> None:
    """Open the task page, press 审核通过; note whether the server answered."""
    try:
        with httpx.Client(timeout=30) as client:
            form = hidden_fields(client.get(link).text)
            outcome["posting"].set()
            answer = client.post(link, data={**form, "decision": "approve"})
            outcome["status"] = answer.status_code
    except httpx.HTTPError as exc:
        outcome["status"] = type(exc).__name__


def _whole(case_id: int) -> list[str]:
    """What is inconsistent about one case: version vs history, state vs history, links vs decisions."""
    from models import Case, CaseEvent, TaskLink
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as s:
        case = s.get(Case, case_id)
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        links = s.exec(select(TaskLink).where(TaskLink.case_id == case_id)).all()
    wrong = []
    if case.version != len(events):
        wrong.append(f"version {case.version} but {len(events)} events")
    if case.state != events[-1].to_state:
        wrong.append(f"state {case.state} but history ends at {events[-1].to_state}")
    deciders = {e.actor_id for e in events if e.trigger == "approve"}
    made_at = {n for n, e in enumerate(events, 1) if e.trigger in ("submit", "approve")}  # the mails' versions
    # the decider's link is used, or (a reviewer may still reject a document awaiting sign-off) moved on
    # to the version the decision made; nobody else's link was touched
    for link in links:
        if link.person_id in deciders and link.used_at is None and link.case_version != case.version:
            wrong.append(f"the decider's link stayed at version {link.case_version}")
        if link.person_id not in deciders and (link.used_at is not None or link.case_version not in made_at):
            wrong.append(f"an onlooker's link changed: used {link.used_at}, version {link.case_version}")
    return wrong


def test_the_web_process_killed_mid_post_loses_and_duplicates_no_decision(demo, clock, monkeypatch):
    from models import CaseEvent
    from qcflow.services import audit
    from qcflow.services.mail import deliver_outbox
    from qcflow.store.db import unit_of_work
    from qcflow.store.links import check_link
    from tests.helpers import reconfigure

    kills, per_kill = size(2, 10), size(3, 6)
    port = free_port()
    with SmtpServer() as mailbox:
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("QCFLOW_SMTP_PORT", str(mailbox.port))
        monkeypatch.setenv("QCFLOW_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("QCFLOW_SECRET_KEY", SECRET)
        reconfigure()
        documents = []
        for _ in range(kills * per_kill):
            with unit_of_work() as s:
                documents.append(new_document(s))
            fire(documents[-1], "submit", SECRETARY)
        while deliver_outbox().sent:  # one run takes a batch; the flow runs every minute
            pass
        env = {**os.environ, "PYTHONPATH": ROOT, "QCFLOW_SECRET_KEY": SECRET}
        links = {}  # (document, reviewer) → the link in the reviewer's mail
        with unit_of_work(read_only=True) as s:
            for message in mailbox.messages:
                link = link_in(message)
                found = check_link(s, link.rsplit("/", 1)[1])
                links[(found.case.id, parseaddr(message["To"])[1])] = link
        # each document decided by one of the three reviewers, in turn
        by_document = [links[(d, REVIEWERS[i % 3])] for i, d in enumerate(documents)]

        rng = random.Random(3)
        outcomes: list[dict] = [{"posting": threading.Event()} for _ in documents]
        answered_before_kill = 0
        for round_ in range(kills):
            server = _start(port, env)
            batch = range(round_ * per_kill, (round_ + 1) * per_kill)
            threads = [threading.Thread(target=_decide, args=(by_document[i], outcomes[i])) for i in batch]
            for t in threads:
                t.start()
            for i in batch:  # every page shown; the POSTs are on their way
                outcomes[i]["posting"].wait(30)
            time.sleep(rng.uniform(0, 0.15))  # … or being handled, or answered
            os.kill(server.pid, signal.SIGKILL)
            server.wait(10)
            for t in threads:
                t.join(30)
            answered_before_kill += sum(outcomes[i].get("status") == 303 for i in batch)

        server = _start(port, env)  # back up: whoever got no answer submits again (from the same link)
        try:
            again = [{"posting": threading.Event()} for _ in documents]
            for i, outcome in enumerate(outcomes):
                if outcome.get("status") != 303:
                    _decide(by_document[i], again[i])
        finally:
            server.kill()
            server.wait(10)

    with unit_of_work(read_only=True) as s:
        approvals = {d: len(s.exec(select(CaseEvent).where(CaseEvent.case_id == d,
                                                           CaseEvent.trigger == "approve")).all()) for d in documents}
        report = audit.verify(s)
    lost = [d for d in documents if approvals[d] == 0]
    duplicated = [d for d in documents if approvals[d] > 1]
    assert not lost and not duplicated, approvals
    # the second try: a fresh decision (303) if the first was rolled back; else the link is used (409), or
    # — a reviewer may still reject a document awaiting sign-off — its page refuses a second approval (422)
    retried = {d: again[i].get("status") for i, d in enumerate(documents) if "status" in again[i]}
    assert all(status in (303, 409, 422) for status in retried.values()), retried
    assert all(approvals[d] == 1 for d, status in retried.items() if status != 303)
    broken = {d: w for d in documents if (w := _whole(d))}
    assert not broken, broken
    assert report.intact, report.as_dict()["broken"][:3]
    cut = sum(isinstance(o.get("status"), str) for o in outcomes)
    record("web_kills", kills=kills, posts_in_flight=len(documents), answered_before_kill=answered_before_kill,
           cut_off_by_the_kill=cut, decided_by_the_cut_off_post=sum(status != 303 for status in retried.values()),
           lost=len(lost), duplicated=len(duplicated))
