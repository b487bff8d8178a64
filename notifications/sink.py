"""A local mail sink for development: an SMTP server that files every message in a Maildir,
and readers for the web mailbox page."""
from __future__ import annotations

import mailbox
import re
import socket
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as DEFAULT_POLICY
from pathlib import Path
from typing import Any, Callable, Optional, Union

from aiosmtpd.controller import Controller

__all__ = ["MaildirSink", "list_messages", "read_message"]

PathLike = Union[str, Path]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _open_maildir(path: PathLike, create: bool) -> Optional[mailbox.Maildir]:
    path = Path(path)
    if create:
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
    elif not all((path / sub).is_dir() for sub in ("tmp", "new", "cur")):
        return None  # nothing delivered yet
    return mailbox.Maildir(str(path), factory=None, create=False)


class _MaildirHandler:
    """aiosmtpd handler: file the message as received, with the envelope recipients on top."""

    def __init__(self, path: PathLike):
        self.maildir = _open_maildir(path, create=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        content = content.replace(b"\r\n", b"\n")
        rcpt = ", ".join(envelope.rcpt_tos).encode("utf-8")
        self.maildir.add(b"X-RcptTo: " + rcpt + b"\n" + content)
        return "250 OK: message accepted"


class MaildirSink:
    """An SMTP server on host:port (default 127.0.0.1 and settings.sink_port) filing mail in a Maildir.

    Port 0 picks a free port; read it back from `.port`. Use as a context manager, or start()/stop().
    """

    def __init__(self, path: PathLike, host: str = "127.0.0.1", port: int = 0):
        self.path = Path(path)
        self.host = host
        self.port = port or free_port(host)
        self.handler = _MaildirHandler(self.path)
        self.controller: Optional[Controller] = None

    def start(self) -> "MaildirSink":
        if self.controller is None:
            controller = Controller(self.handler, hostname=self.host, port=self.port)
            controller.start()
            self.controller = controller
        return self

    def stop(self) -> None:
        if self.controller is not None:
            controller, self.controller = self.controller, None
            controller.stop()

    def __enter__(self) -> "MaildirSink":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def _parse(fp) -> EmailMessage:
    return BytesParser(policy=DEFAULT_POLICY).parse(fp)


def _date(msg: EmailMessage) -> Optional[datetime]:
    header = msg["Date"]
    try:
        return header.datetime if header is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


Formatter = Callable[[datetime], str]


def _iso_minutes(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _fmt(moment: Optional[datetime], fmt: Formatter) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        return _iso_minutes(moment)
    return fmt(moment)


def _text(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken encoding: show what we can
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _arrival(key: str) -> tuple[int, int, int]:
    """Maildir keys start with seconds, microseconds and a counter; string order misplaces them."""
    match = re.match(r"^(\d+)\.M(\d+)P\d+Q(\d+)", key)
    return tuple(int(g) for g in match.groups()) if match else (0, 0, 0)


def list_messages(maildir_path: PathLike, fmt: Formatter = _iso_minutes) -> list[dict[str, Any]]:
    """Every message in the Maildir, newest first: key, date (local time), to, subject."""
    box = _open_maildir(maildir_path, create=False)
    if box is None:
        return []
    items = []
    for key in box.keys():
        try:
            with box.get_file(key) as fp:
                msg = BytesParser(policy=DEFAULT_POLICY).parse(fp, headersonly=True)
        except (KeyError, FileNotFoundError):  # removed meanwhile
            continue
        moment = _date(msg)
        items.append((moment.timestamp() if moment and moment.tzinfo else 0.0, key, {
            "key": key, "date": _fmt(moment, fmt), "to": str(msg["To"] or ""), "subject": str(msg["Subject"] or ""),
        }))
    items.sort(key=lambda item: (item[0], _arrival(item[1])), reverse=True)
    return [item[2] for item in items]


def read_message(maildir_path: PathLike, key: str, fmt: Formatter = _iso_minutes) -> Optional[dict[str, Any]]:
    """One message, decoded: subject, to, from, date, message_id, text and html; None for an unknown key."""
    box = _open_maildir(maildir_path, create=False)
    if box is None:
        return None
    try:
        with box.get_file(key) as fp:
            msg = _parse(fp)
    except (KeyError, FileNotFoundError):
        return None
    return {
        "key": key,
        "subject": str(msg["Subject"] or ""),
        "to": str(msg["To"] or ""),
        "from": str(msg["From"] or ""),
        "date": _fmt(_date(msg), fmt),
        "message_id": str(msg["Message-ID"] or "").strip(),
        "text": _text(msg, "plain"),
        "html": _text(msg, "html"),
    }
