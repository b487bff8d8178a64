"""Sign in over HTTP as a person would: ask for the link, take it from the mail the SMTP server got,
press 登录. The client keeps the session cookie."""
from __future__ import annotations

import re
import time

import httpx

from tests.e2e.formpost import post

LOGIN_LINK = re.compile(r"https?://\S+/login/[A-Za-z0-9_\-]+")
SUBJECT = "【登录链接】"


def login_link(mailbox, email: str, n: int = 1, timeout: float = 10.0) -> str:
    """The link in the n-th sign-in mail to `email` (waiting for it)."""
    deadline = time.monotonic() + timeout
    while len(found := mailbox.to(email, SUBJECT, timeout=0)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) >= n, f"no sign-in mail #{n} to {email}"
    text = found[n - 1].get_body(preferencelist=("plain",)).get_content()
    match = LOGIN_LINK.search(text)
    assert match, text
    return match.group(0)


def sign_in(base: str, mailbox, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base)
    before = len(mailbox.to(email, SUBJECT, timeout=0))
    asked = post(f"{base}/login", {"email": email}, client=client)
    assert asked.status_code == 200, asked.text
    done = post(login_link(mailbox, email, before + 1), client=client)
    assert done.status_code == 200 and str(done.url).endswith("/tasks"), done.text
    return client
