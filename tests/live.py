"""The web app on a real port of 127.0.0.1, mailing to a real SMTP server: for the tests that follow
links from received mail over real HTTP."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import uvicorn

from tests.helpers import reconfigure
from tests.smtp import SmtpServer, free_port


@contextmanager
def live_site(monkeypatch) -> Iterator[tuple[str, SmtpServer]]:
    """Yields (base_url, mailbox) while the app serves; the settings come back afterwards."""
    with SmtpServer() as mailbox:
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("QCFLOW_SMTP_PORT", str(mailbox.port))
        for attempt in range(3):  # a free port may be taken by another process before uvicorn binds it
            port = free_port()
            monkeypatch.setenv("QCFLOW_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
            reconfigure()
            started = _start(port)
            if started is not None:
                break
        else:
            raise RuntimeError("the web app did not start on three free ports")
        try:
            yield f"http://127.0.0.1:{port}", mailbox
        finally:
            _stop(*started)
    reconfigure()


def _start(port: int):
    """uvicorn serving web.app in a thread on 127.0.0.1:port; None when it could not bind."""
    from web.app import app

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        _stop(server, thread)
        return None
    return server, thread


def _stop(server, thread) -> None:
    server.should_exit = True
    thread.join(5)


@contextmanager
def serving(port: int) -> Iterator[str]:
    """The app (web.app) served by uvicorn in a thread on 127.0.0.1:port while the block runs."""
    started = _start(port)
    if started is None:
        raise RuntimeError(f"the web app could not bind 127.0.0.1:{port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(*started)


@contextmanager
def mail_to_smtp(monkeypatch) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that outbox delivery points at; the settings come back afterwards."""
    with SmtpServer() as server:
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("QCFLOW_SMTP_PORT", str(server.port))
        reconfigure()
        yield server
    reconfigure()


def deliver_to(server: SmtpServer) -> list:
    """Deliver what waits in the outbox; the messages the SMTP server received from this run."""
    from qcflow.services.mail import deliver_outbox

    before = len(server.messages)
    report = deliver_outbox()
    assert report.errors == [] and report.gave_up == 0, report.errors
    return server.messages[before:]
