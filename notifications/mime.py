"""An outbox mail as the bytes that go over SMTP, written directly (no email.message tree).

Same message as `delivery.build_message` builds with the email package — the same headers (RFC 2047
encoded words for anything not plain ASCII), text and HTML alternatives in utf-8, text attachments
as written (an .ics keeps its CRLF) — but over twenty times cheaper to produce. Every part is
base64: 7-bit clean for any server (no 8BITMIME needed), and a base64 body can never contain the
multipart boundary, which is fixed per message ("=_" never occurs in base64).

Anything this writer does not handle the way the email package would (a non-ASCII address, which
needs SMTPUTF8; an odd content type, Message-ID or sender; a header value on several lines, which
the email package refuses) raises `Unsupported`; the caller then builds that one message with the
email package instead, which sends it or raises as it always did.
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import re
from datetime import datetime
from typing import Any, Iterable

__all__ = ["Unsupported", "message_bytes"]

CRLF = "\r\n"
MAX_LINE = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
WORD_BYTES = 39  # utf-8 bytes per encoded word: 52 base64 chars, a 64-char word (limit 75, RFC 2047)

_PRINTABLE = re.compile(r"[\x20-\x7e]*\Z")
_ATOM_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*\Z")  # atext and spaces: no quoting needed
_ADDR_SPEC = re.compile(r"[\x21-\x7e]+@[\x21-\x7e]+\Z")
_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>\Z")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+\Z")  # RFC 2045 token
_MIME_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+\Z")


class Unsupported(ValueError):
    """This message needs the email package (see the module docstring)."""


def _encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 base64 encoded words, split between characters, each at most 64 chars."""
    words, chunk, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > WORD_BYTES and chunk:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    if chunk or not words:
        words.append("".join(chunk))
    return ["=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words]


def _fold(name: str, tokens: Iterable[str]) -> str:
    """A header line `Name: tok tok …`, folded before a token that would pass 78 characters."""
    lines, line = [], name + ":"
    for token in tokens:
        if len(line) + 1 + len(token) > MAX_LINE and line != name + ":":
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    if max(map(len, lines)) > 998:  # RFC 5322's hard limit: the email package splits such a value further
        raise Unsupported(f"a {name} line too long")
    return CRLF.join(lines) + CRLF


def _plain(value: str) -> bool:
    """Plain printable ASCII that a decoder would not mistake for an encoded word."""
    return bool(_PRINTABLE.match(value)) and "=?" not in value


def _one_line(value: str) -> None:
    if len(value.splitlines()) > 1:  # the email package refuses these (header injection): it shall say so
        raise Unsupported("a header value on several lines")


def _unstructured(name: str, value: str) -> str:
    _one_line(value)
    if _plain(value) and value.strip() == value and "  " not in value and max(map(len, value.split(" "))) < 900:
        return _fold(name, value.split(" ") if value else [])
    return _fold(name, _encoded_words(value))


def _address(name: str, display_name: str, addr: str) -> str:
    if not _ADDR_SPEC.match(addr or "") or any(c in addr for c in '<>()[],;:\\"'):
        raise Unsupported(f"address {addr!r}")
    angle = f"<{addr}>"
    _one_line(display_name)
    if not display_name:
        return _fold(name, [addr])
    if _plain(display_name) and display_name.strip() == display_name and "  " not in display_name:
        if _ATOM_PHRASE.match(display_name):
            return _fold(name, display_name.split(" ") + [angle])
        quoted = '"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return _fold(name, [quoted, angle])
    return _fold(name, _encoded_words(display_name) + [angle])


def _param(name: str, value: str) -> str:
    """A MIME parameter: a token, a quoted string, or RFC 2231 utf-8 when not plain ASCII."""
    if _TOKEN.match(value) and name != "filename":
        return f"{name}={value}"
    if _PRINTABLE.match(value):
        return f'{name}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name}*={email.utils.encode_rfc2231(value, 'utf-8')}"


def _base64_lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _text_part(subtype: str, text: str) -> bytes:
    # MIME canonical form: CRLF line ends, and a final one (as the email package writes a str part)
    data = text.encode("utf-8").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + _base64_lines(data.replace(b"\n", b"\r\n"))


def _attachment_part(item: dict[str, Any]) -> bytes:
    content_type = item["content_type"]
    if not _MIME_TYPE.match(content_type or ""):
        raise Unsupported(f"content type {content_type!r}")
    params = ['charset="utf-8"'] + ([_param("method", item["method"])] if item.get("method") else [])
    head = (_fold("Content-Type", [content_type + ";", *(p + ";" for p in params[:-1]), params[-1]])
            + _fold("Content-Disposition", ["attachment;", _param("filename", item["filename"])])
            + "Content-Transfer-Encoding: base64\r\n\r\n")
    # the content as written: a calendar file must keep its CRLF (RFC 5545)
    return head.encode("ascii") + _base64_lines(item["content"].encode("utf-8"))


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> tuple[str, bytes]:
    sep = f"--{boundary}\r\n".encode("ascii")
    body = b"".join(sep + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode("ascii")
    return f'multipart/{subtype}; boundary="{boundary}"', body


def message_bytes(row: Any, mail_from: str, mail_from_name: str, now: datetime) -> bytes:
    """The whole message for one (rendered) outbox row, CRLF line ends, ready for SMTP DATA."""
    message_id = row.message_id or ""
    if not _MESSAGE_ID.match(message_id):
        raise Unsupported(f"Message-ID {message_id!r}")
    boundary = "=_qc" + hashlib.sha1(message_id.encode("ascii")).hexdigest()[:24]
    alternative, body = _multipart("alternative", boundary + ".a",
                                   [_text_part("plain", row.text_body or ""), _text_part("html", row.html_body or "")])
    if row.attachments:
        inner = f"Content-Type: {alternative}\r\n\r\n".encode("ascii") + body
        content_type, body = _multipart("mixed", boundary + ".m",
                                        [inner, *(_attachment_part(item) for item in row.attachments)])
    else:
        content_type = alternative
    head = (_address("From", mail_from_name, mail_from)
            + _address("To", row.to_name or "", row.to_addr)
            + _unstructured("Subject", row.subject or "")
            + f"Date: {email.utils.format_datetime(now)}\r\n"
            + f"Message-ID: {message_id}\r\n"
            + "Auto-Submitted: auto-generated\r\n"  # RFC 3834: no vacation replies to a robot
            + "MIME-Version: 1.0\r\n"
            + f"Content-Type: {content_type}\r\n\r\n")
    return head.encode("ascii") + body
