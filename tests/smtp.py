"""A real SMTP server on 127.0.0.1 for tests: it keeps every message it receives."""
from __future__ import annotations

import re
import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+/t/[A-Za-z0-9_.\-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def to(self, address: str, subject_contains: str = "", timeout: float = 10.0) -> list[EmailMessage]:
        """Messages to `address` (waiting up to `timeout` for at least one that matches)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if address in m["To"] and subject_contains in m["Subject"]]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


class SmtpServer(Collector):
    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def link_in(message: EmailMessage) -> str:
    text, _ = parts(message)
    match = LINK.search(text)
    assert match, f"no task link in: {text}"
    return match.group(0)
