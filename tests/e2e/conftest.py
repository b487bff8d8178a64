"""The web app on a real port, mailing to a real SMTP server on 127.0.0.1."""
from __future__ import annotations

import pytest

from tests.live import live_site


@pytest.fixture
def site(demo, monkeypatch):
    """Yields (base_url, mailbox); page actions deliver their mails right away."""
    with live_site(monkeypatch) as site_and_mailbox:
        yield site_and_mailbox
