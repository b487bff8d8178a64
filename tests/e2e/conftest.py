"""The web app on a real port, mailing to a real SMTP server on 127.0.0.1."""
from __future__ import annotations

from tests.helpers import reconfigure

import threading
import time

import pytest
import uvicorn

from tests.smtp import SmtpServer, free_port


@pytest.fixture
def site(demo, monkeypatch):
    """Yields (base_url, mailbox); page actions deliver their mails right away."""
    from qcflow.core.runtime import get_settings

    port = free_port()
    with SmtpServer() as mailbox:
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("QCFLOW_SMTP_PORT", str(mailbox.port))
        monkeypatch.setenv("QCFLOW_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        reconfigure()
        from web.app import app

        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}", mailbox
        server.should_exit = True
        thread.join(5)
