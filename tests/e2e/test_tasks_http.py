"""我的待办 over real HTTP: exactly the steps the engine puts on the signed-in person, most urgent first."""
from __future__ import annotations

import re

import httpx
import pytest

from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from qcflow.engine import person_by_email
from qcflow.services.tasks import digest_enabled
from tests.e2e.formpost import hidden_fields, post
from tests.e2e.sessions import sign_in
from tests.helpers import LEADER, REVIEWER, REVIEWER2, SECRETARY, fire, new_document
from tests.smtp import link_in

pytestmark = pytest.mark.db

ROW = re.compile(r'<a href="/cases/document/(\d+)">')


def _listed(client: httpx.Client) -> list[int]:
    page = client.get("/tasks")
    assert page.status_code == 200
    return [int(x) for x in ROW.findall(page.text)]


def _submitted(**overrides) -> int:
    with unit_of_work() as s:
        case_id = new_document(s, **overrides)
    fire(case_id, "submit", SECRETARY)
    deliver()
    return case_id


def test_my_tasks_lists_exactly_the_waiting_steps_and_a_done_step_leaves(site, clock):
    base, mailbox = site
    first = _submitted()
    clock.advance(days=1)
    second = _submitted(title="关于开展2026年心血管病质控督查的通知")
    with unit_of_work() as s:
        draft = new_document(s, title="尚未提交的草稿")

    reviewer = sign_in(base, mailbox, REVIEWER)
    assert _listed(reviewer) == [first, second]  # the sooner due first
    page = reviewer.get("/tasks").text
    assert "我的待办（2）" in page and "审核通过" in page and "退回修改" in page
    secretary = sign_in(base, mailbox, SECRETARY)
    assert _listed(secretary) == [draft]  # her own draft waits for her; submitted ones wait for the commission
    leader = sign_in(base, mailbox, LEADER)
    assert _listed(leader) == []
    assert "目前没有等待您处理的事项" in leader.get("/tasks").text

    # The reviewer sends the first back: it leaves both reviewers' lists and lands on the secretary's.
    done = post(link_in(mailbox.to(REVIEWER, "【待审核】")[0]), {"decision": "request_changes", "comment": "请补充议程"})
    assert done.status_code == 200
    assert _listed(reviewer) == [second]
    assert _listed(sign_in(base, mailbox, REVIEWER2)) == [second]
    assert sorted(_listed(secretary)) == sorted([first, draft])

    # Past its due day the second is marked overdue and stays first.
    clock.advance(days=10)
    reviewer = sign_in(base, mailbox, REVIEWER)  # the old session has been idle far too long
    page = reviewer.get("/tasks").text
    assert "已逾期" in page and _listed(reviewer) == [second]


def test_my_tasks_needs_sign_in_and_the_header_offers_it(site):
    base, _ = site
    anonymous = httpx.get(f"{base}/tasks", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    assert '<a href="/login">登录</a>' in httpx.get(f"{base}/login").text


def _digest_box(page: str) -> str:
    return page.split('name="daily_digest"')[1].split(">")[0]


def test_the_daily_digest_preference_is_stored(site):
    base, mailbox = site
    client = sign_in(base, mailbox, REVIEWER)
    assert "checked" not in _digest_box(client.get("/tasks").text)
    form = hidden_fields(client.get("/tasks").text)
    saved = client.post("/tasks/digest", data={**form, "daily_digest": "on"}, follow_redirects=True)
    assert saved.status_code == 200 and "设置已保存" in saved.text and "checked" in _digest_box(saved.text)
    with unit_of_work() as s:
        assert digest_enabled(s, person_by_email(s, REVIEWER).id)
    forged = httpx.post(f"{base}/tasks/digest", data={"daily_digest": ""}, cookies=dict(client.cookies))
    assert forged.status_code == 403
    with unit_of_work() as s:
        assert digest_enabled(s, person_by_email(s, REVIEWER).id)
