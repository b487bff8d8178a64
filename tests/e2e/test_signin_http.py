"""Sign-in by emailed link over real HTTP, the link received by a real SMTP server."""
from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from models import LoginToken, SignInRequest, WebSession
from qcflow.services import signin
from qcflow.store.db import unit_of_work
from tests.e2e.formpost import hidden_fields, post
from tests.e2e.sessions import SUBJECT, login_link, sign_in
from tests.helpers import REVIEWER, SECRETARY

pytestmark = pytest.mark.db


def _cookie_header(response: httpx.Response, name: str) -> str:
    found = [v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(f"{name}=")]
    assert found, response.headers
    return found[0]


def test_the_emailed_link_signs_in_once_with_a_safe_cookie(site):
    base, mailbox = site
    client = httpx.Client(base_url=base)
    asked = post(f"{base}/login", {"email": SECRETARY.upper()}, client=client)
    assert asked.status_code == 200 and "登录链接已发送" in asked.text
    link = login_link(mailbox, SECRETARY)
    assert link.startswith(f"{base}/login/")

    # Opening the link (as a mail scanner would) shows a button and signs nobody in.
    opened = httpx.get(link)
    assert opened.status_code == 200 and ">登录</button>" in opened.text and "qc_session" not in opened.headers.get("set-cookie", "")
    with unit_of_work() as s:
        assert s.exec(select(WebSession)).all() == []
        assert s.exec(select(LoginToken)).one().used_at is None

    pressed = post(link, client=client, follow=False)
    assert pressed.status_code == 303 and pressed.headers["location"] == "/tasks"
    cookie = _cookie_header(pressed, "qc_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert f"max-age={int(signin.SESSION_MAX.total_seconds())}" in cookie
    tasks = client.get("/tasks")
    assert tasks.status_code == 200 and "我的待办" in tasks.text and "林小禾" in tasks.text and "退出" in tasks.text

    # Stored as hashes only: neither the link's token nor the cookie's value is in the database.
    secret = client.cookies["qc_session"]
    with unit_of_work() as s:
        stored = [r.token_hash for r in s.exec(select(WebSession))] + [r.token_hash for r in s.exec(select(LoginToken))]
    assert secret not in stored and link.rsplit("/", 1)[1] not in stored and len(stored) == 2

    again = post(link, client=httpx.Client())
    assert again.status_code == 409 and "登录链接已使用" in again.text and "qc_session" not in again.headers.get("set-cookie", "")

    # Signing out (the header's 退出 form) ends the session on the server, not only in the browser.
    header_form = client.get("/tasks").text
    ended = client.post("/logout", data=hidden_fields(header_form), follow_redirects=False)
    assert ended.status_code == 303
    replay = httpx.get(f"{base}/tasks", cookies={"qc_session": secret}, follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"] == "/login"


def test_an_expired_link_and_an_idle_session_are_refused(site, clock):
    base, mailbox = site
    client = httpx.Client(base_url=base)
    post(f"{base}/login", {"email": REVIEWER}, client=client)
    link = login_link(mailbox, REVIEWER)
    clock.advance(minutes=16)
    expired = post(link, client=client)
    assert expired.status_code == 410 and "登录链接已过期" in expired.text
    assert "qc_session" not in client.cookies

    signed = sign_in(base, mailbox, REVIEWER)
    assert signed.get("/tasks", follow_redirects=False).status_code == 200
    clock.advance(hours=8, minutes=1)
    assert signed.get("/tasks", follow_redirects=False).status_code == 303


def test_an_unknown_email_gets_the_same_answer_and_no_mail(site):
    base, mailbox = site
    known = post(f"{base}/login", {"email": SECRETARY})
    unknown = post(f"{base}/login", {"email": "nobody@elsewhere.example"})
    assert unknown.status_code == known.status_code == 200
    strip = lambda r, e: r.text.replace(e, "EMAIL")  # noqa: E731
    assert strip(unknown, "nobody@elsewhere.example") == strip(known, SECRETARY)
    login_link(mailbox, SECRETARY)
    assert mailbox.to("nobody@elsewhere.example", timeout=0.5) == []
    with unit_of_work() as s:
        assert len(s.exec(select(LoginToken)).all()) == 1
        rows = s.exec(select(SignInRequest)).all()
    assert len(rows) == 2 and all("@" not in r.email_key and "127.0.0.1" not in r.client_key for r in rows)


def test_requests_are_limited_per_email_and_per_client(site):
    base, mailbox = site
    for _ in range(signin.MAX_PER_EMAIL):
        assert post(f"{base}/login", {"email": REVIEWER}).status_code == 200
    limited = post(f"{base}/login", {"email": REVIEWER})
    assert limited.status_code == 429 and "过于频繁" in limited.text
    unknown_limited = post(f"{base}/login", {"email": "x@y.example"})
    assert unknown_limited.status_code == 200  # another email from the same client: still under its limit
    for n in range(signin.MAX_PER_CLIENT - signin.MAX_PER_EMAIL - 1):
        assert post(f"{base}/login", {"email": f"p{n}@y.example"}).status_code == 200
    from_client = post(f"{base}/login", {"email": "fresh@y.example"})
    assert from_client.status_code == 429 and "同一网络地址" in from_client.text
    assert len(mailbox.to(REVIEWER, SUBJECT, timeout=1)) == signin.MAX_PER_EMAIL


def test_a_form_without_its_csrf_token_is_refused(site):
    base, mailbox = site
    refused = httpx.post(f"{base}/login", data={"email": SECRETARY})
    assert refused.status_code == 403 and "安全校验码" in refused.text
    client = httpx.Client(base_url=base)
    page = client.get("/login")
    forged = client.post("/login", data={"email": SECRETARY, "csrf": "0" * 64})
    assert forged.status_code == 403
    assert "csrf" in hidden_fields(page.text)
    assert mailbox.to(SECRETARY, SUBJECT, timeout=0.5) == []
    with unit_of_work() as s:
        assert s.exec(select(SignInRequest)).all() == []


def test_the_cookies_are_secure_behind_https(site):
    base, _ = site
    page = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
    cookie = _cookie_header(page, "qc_csrf").lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
