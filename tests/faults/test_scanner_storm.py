"""The scanner storm: mail scanners, link checkers and crawlers open every link and page, many times,
with and without cookies, with odd user agents, GET and HEAD, and forged tokens besides.

Over real HTTP against the real app, with the whole database dumped before and after: no case,
version, history, deadline, link use, mail or session changes; the only rows added are the
"link opened" records (one per task page actually shown); no answer is a server error, and no
private detail of a death case reaches anyone who may not read it (Y§22).
"""
from __future__ import annotations

import itertools
import random
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import select

from tests.e2e.test_case_pages_http import sign_in
from tests.faults.support import dump, record, size, table_changes
from tests.helpers import OTHER_SECRETARY, REVIEWER, SECRETARY, fire, new_document
from tests.integration.test_privacy_matrix import DEATH_QCH1, DEPUTY, DISCUSSION, SECRETS

pytestmark = pytest.mark.db

LINK = re.compile(r"https?://[^\s\"<>]+/(?:t|login)/[A-Za-z0-9_.\-]+")
AGENTS = ["", "Mozilla/5.0 (compatible; Microsoft-SafeLinks/1.0)", "Googlebot/2.1 (+http://www.google.com/bot.html)",
          "curl/8.5.0", "python-requests/2.32", "Barracuda Sentinel (EE)", "x" * 4000,
          "Mozilla/5.0 (Windows NT 10.0) 邮件安全网关".encode("utf-8"), "spaces  inside\tand tabs", "() { :; }; echo shellshock"]
PAGES = ["/", "/search?q=BA-70", "/search?q=%E6%80%A5%E6%80%A7", "/due", "/deaths", "/centers", "/centers/CARD",
         "/centers/NOPE", "/glossary", "/tasks", "/outbox", "/outbox?failed=true", "/mailbox", "/health", "/login",
         "/cases/document/{doc}", "/cases/death_review/{death}", "/cases/death_review/999999",
         "/cases/application/1/materials/license", "/t/", "/login/"]


def _scene(site) -> dict:
    """Cases with mail out: a submitted document, one awaiting sign-off (its review links are used), and a
    low-risk death assigned to CARD with its deputy as reviewer, discussion recorded."""
    from qcflow import engine
    from qcflow.services.mail import deliver_outbox
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:
        waiting = new_document(s)
        signed = new_document(s, title="待签发的通知")
    fire(waiting, "submit", SECRETARY)
    fire(signed, "submit", SECRETARY)
    fire(signed, "approve", REVIEWER)
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", REVIEWER, DEATH_QCH1)
        engine.fire_as_system(s, case, "screen")
        death = case.id
    with unit_of_work() as s:
        engine.fire(s, "death_review", death, "assign", email=REVIEWER, changes={"center": "CARD", "reviewers": [DEPUTY]})
    with unit_of_work() as s:
        engine.fire(s, "death_review", death, "start_investigation", email=DEPUTY)
    with unit_of_work() as s:
        engine.fire(s, "death_review", death, "record_discussion", email=DEPUTY, comment="讨论意见：再灌注延迟",
                    changes={"discussion": DISCUSSION})
    deliver_outbox()
    return {"doc": waiting, "signed": signed, "death": death}


def _links(mailbox) -> set[str]:
    found = set()
    for message in mailbox.messages:
        text = message.get_body(preferencelist=("plain",)).get_content()
        found.update(urlsplit(m).path for m in LINK.findall(text))
    return found


def _hostile(paths: list[str], count: int, rng: random.Random) -> list[str]:
    """Forged tokens: real ones changed a little, cut, lengthened, and plain garbage."""
    tokens = [p.rsplit("/", 1)[1] for p in paths]
    made = ["../../etc/passwd", "%00", "' OR 1=1 --", "令牌", "a" * 5000, "null", "0", "-1", "%2e%2e%2f"]
    while len(made) < count + count // 10:
        t = rng.choice(tokens)
        how = rng.randrange(5)
        if how == 0:
            t = t[:-1] + ("A" if t[-1] != "A" else "B")
        elif how == 1:
            t = t[: rng.randrange(1, len(t))]
        elif how == 2:
            t = t + rng.choice("abcXYZ019_-.")
        elif how == 3:
            i = rng.randrange(len(t))
            t = t[:i] + rng.choice("0123456789abcdef") + t[i + 1:]
        else:
            t = "".join(rng.choice("ABCDEFabcdef0123456789_-.") for _ in range(rng.randrange(1, 200)))
        made.append(t)
    real = set(tokens)
    made = [t for t in made if t not in real]  # a change can give the token back (a character for itself)
    return [f"/{rng.choice(['t', 'login'])}/{t}" for t in made[:count]]


def _private_leaks(body: str) -> list[str]:
    return [s for s in SECRETS if s in body]


def test_thousands_of_scanner_requests_change_nothing_but_the_link_opened_records(site):
    from models import Case, LinkOpening
    from qcflow.services import access
    from qcflow.store.links import check_link
    from qcflow.store.db import get_engine, unit_of_work

    base, mailbox = site
    scene = _scene(site)
    other = sign_in(base, mailbox, OTHER_SECRETARY)  # someone who may not read the death, signed in
    links = sorted(_links(mailbox))
    task_links = [p for p in links if p.startswith("/t/")]
    assert len(task_links) >= 6 and any(p.startswith("/login/") for p in links)

    with unit_of_work(read_only=True) as s:  # who may read the death: a link of theirs may show it
        may_read = {}
        for path in task_links:
            token = path.rsplit("/", 1)[1]
            link = check_link(s, token).link
            may_read[token] = link is not None and (link.case_id != scene["death"] or (
                link.person_id is not None and access.may_read(s, s.get(Case, link.case_id), link.person_id) is None))
    rng = random.Random(12)
    rounds = size(1, 3)
    hostile = _hostile(task_links, size(100, 1000), rng)
    pages = [p.format(**scene) for p in PAGES]
    targets = [*task_links, *(p + "?done=1" for p in task_links), *(p for p in links if p.startswith("/login/")),
               *pages, *hostile]
    jar = [None, {"qc_session": "forged-session-" + "x" * 30, "qc_csrf": "y" * 30}, dict(other.cookies)]
    requests = [(method, path, agent, cookies) for _ in range(rounds)
                for method, path in itertools.product(("GET", "HEAD"), targets)
                for agent, cookies in [(rng.choice(AGENTS), rng.choice(jar))]]
    rng.shuffle(requests)

    engine_ = get_engine()
    openings_before = len(dump(engine_)["linkopening"])
    before = dump(engine_, skip=("linkopening",))

    def send(job):
        method, path, agent, cookies = job
        headers = {"user-agent": agent} if agent != "" else {"user-agent": ""}
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
            answer = client.request(method, path, headers=headers)
        return method, path, cookies is not None and "qc_session" in cookies and cookies is jar[2], answer

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, requests))

    errors = [(m, p, a.status_code) for m, p, _, a in answers if a.status_code >= 500]
    assert not errors, errors[:10]
    leaks = []
    for method, path, _, answer in answers:
        token = path.split("?")[0].rsplit("/", 1)[-1] if path.startswith("/t/") else None
        if token is not None and may_read.get(token, False):
            continue  # the link is a reader's own: showing the case there is by design
        found = _private_leaks(answer.text)
        if found:
            leaks.append((method, path, answer.status_code, found))
    assert not leaks, leaks[:5]

    after = dump(engine_, skip=("linkopening",))
    assert table_changes(before, after) == {}, table_changes(before, after)
    with unit_of_work(read_only=True) as s:
        openings = s.exec(select(LinkOpening)).all()
    shown = sum(1 for m, p, _, a in answers if p.startswith("/t/") and a.status_code == 200 and m == "GET")
    added = len(openings) - openings_before
    heads = sum(1 for m, p, _, a in answers if p.startswith("/t/") and a.status_code == 200 and m == "HEAD")
    assert added == shown + heads  # one "link opened" per task page the server answered, nothing else
    # HTTP header bytes are read as Latin-1 (as Starlette does), so a UTF-8 agent is kept as those characters
    sent_agents = {(a.decode("latin-1") if isinstance(a, bytes) else a)[:300] for a in AGENTS}
    assert {o.user_agent for o in openings[openings_before:]} <= sent_agents  # what the client said, kept
    forged_ok = [(p, a.status_code) for m, p, _, a in answers if p in set(hostile) and a.status_code == 200]
    assert not forged_ok, forged_ok[:5]  # no forged token opens anything
    record("scanner_storm", requests=len(answers), hostile_tokens=len(set(hostile)),
           hostile_requests=sum(p in set(hostile) for _, p, _, _ in answers), link_openings=added,
           changed_rows=sum(a + b for a, b in table_changes(before, after).values()),
           shown_to_wrong_person=len(leaks), server_errors=len(errors))
