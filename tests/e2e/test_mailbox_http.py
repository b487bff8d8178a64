"""/mailbox over real HTTP: only while the local sink is on, only to this machine, and it says it is a dev sink."""
from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from tests.helpers import reconfigure
from tests.smtp import free_port

pytestmark = pytest.mark.db


def _serve(host: str = "127.0.0.1"):
    from web.app import app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, port


@pytest.fixture
def web(db_url):
    server, thread, port = _serve()
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_the_local_sink_s_mailbox_answers_on_loopback_and_says_it_is_for_development(web):
    page = httpx.get(f"{web}/mailbox")
    assert page.status_code == 200 and "开发和演示用" in page.text and "不是正式的邮箱" in page.text
    proxied = httpx.get(f"{web}/mailbox", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 403 and "只能在本机打开" in proxied.text and "不是正式的邮箱" not in proxied.text


def test_serve_s_own_sink_counts_as_the_local_sink(web, monkeypatch):
    monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")  # what `qcflow serve` sets when it starts the sink
    monkeypatch.setenv("QCFLOW_SMTP_PORT", "8125")
    monkeypatch.setenv("QCFLOW_SINK_PORT", "8125")
    reconfigure()
    assert httpx.get(f"{web}/mailbox").status_code == 200


@pytest.mark.parametrize("host,port", [("mail.example.org", "25"), ("127.0.0.1", "25")])
def test_with_a_real_smtp_server_there_is_no_mailbox(web, monkeypatch, host, port):
    monkeypatch.setenv("QCFLOW_SMTP_HOST", host)
    monkeypatch.setenv("QCFLOW_SMTP_PORT", port)
    reconfigure()
    for path in ("/mailbox", "/mailbox/some-key", "/mailbox/some-key/html"):
        answer = httpx.get(f"{web}{path}")
        assert answer.status_code == 404 and "没有本地邮箱" in answer.text, path


def _outside_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the interface a route would use
            return s.getsockname()[0]
        except OSError:
            return ""


def test_a_browser_on_another_machine_is_refused(db_url):
    address = _outside_address()
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback address to connect from")
    server, thread, port = _serve("0.0.0.0")
    try:
        answer = httpx.get(f"http://{address}:{port}/mailbox")
        assert answer.status_code == 403 and "只能在本机打开" in answer.text
        assert httpx.get(f"http://127.0.0.1:{port}/mailbox").status_code == 200
    finally:
        server.should_exit = True
        thread.join(5)
