"""A calendar invitation (RFC 5545 iCalendar, iTIP METHOD:REQUEST per RFC 5546) that mail clients accept.

Times are written in Asia/Shanghai with its VTIMEZONE (UTC+8 all year, no daylight saving), so the
event shows at the same wall-clock time in any client; DTSTAMP is UTC. Lines end in CRLF and are
folded at 75 octets without splitting a UTF-8 character (Chinese text is 3 octets a character).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

__all__ = ["invitation", "escape_text", "fold"]

TZID = "Asia/Shanghai"
PRODID = "-//qcflow//Medical QC Center Platform//ZH-CN"
MAX_OCTETS = 75
CRLF = "\r\n"

_VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    f"TZID:{TZID}",
    "X-LIC-LOCATION:Asia/Shanghai",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0800",
    "TZOFFSETTO:+0800",
    "TZNAME:CST",
    "END:STANDARD",
    "END:VTIMEZONE",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # CTLs other than HTAB and LF are not allowed in TEXT


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def _param(value: str) -> str:
    """A parameter value (§3.2): always quoted; DQUOTE and control characters cannot appear in it."""
    return '"' + _CONTROL.sub("", value.replace('"', "'").replace("\n", " ").replace("\r", " ")) + '"'


def _mailto(email: str) -> str:
    address = _CONTROL.sub("", email.strip())
    if not address or any(c in address for c in ' "\n\r:;,<>'):
        raise ValueError(f"invalid calendar address: {email!r}")
    return f"mailto:{address}"


def fold(line: str) -> str:
    """Fold one content line at 75 octets (§3.1); continuation lines start with a space."""
    pieces: list[str] = []
    current, size, limit = [], 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # the leading space counts
        current.append(char)
        size += width
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(TZID)).strftime("%Y%m%dT%H%M%S")


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def invitation(uid: str, start: datetime, duration_minutes: int, summary: str, description: str,
               location: str, organizer_email: str, attendees: Iterable[tuple[str, str]], *,
               stamp: datetime, organizer_name: str = "", sequence: int = 0) -> str:
    """One VEVENT invitation as an iCalendar string with CRLF line endings.

    `uid` must be stable for the same meeting: a resent invitation then updates the event in the
    recipient's calendar instead of adding a second one."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime")
    if duration_minutes <= 0:
        raise ValueError("duration_minutes must be positive")
    if not uid.strip() or any(c in uid for c in "\r\n"):
        raise ValueError("uid must be a non-empty single line")
    attendees = list(attendees)
    if not attendees:
        raise ValueError("an invitation (METHOD:REQUEST) needs at least one attendee")
    if stamp.tzinfo is None:
        raise ValueError("stamp must be an aware datetime")
    end = start + timedelta(minutes=duration_minutes)
    organizer = f"ORGANIZER;CN={_param(organizer_name)}:" if organizer_name else "ORGANIZER:"
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        *_VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:{uid.strip()}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART;TZID={TZID}:{_local(start)}",
        f"DTEND;TZID={TZID}:{_local(end)}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(location)}",
        organizer + _mailto(organizer_email),
        *(f"ATTENDEE;CN={_param(name)};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
          + _mailto(email) for name, email in attendees),
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(summary)}",
        "TRIGGER:-PT30M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + CRLF for line in lines)
