"""The calendar invitation, checked by hand against RFC 5545 (the `icalendar` package is not installed here):
CRLF line endings, folding at 75 octets without splitting a UTF-8 character, escaped text, the
Asia/Shanghai time zone, a UTC stamp and a stable UID."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from notifications.ics import escape_text, fold, invitation

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2027, 1, 5, 9, 30, tzinfo=SHANGHAI)
STAMP = datetime(2026, 12, 10, 1, 2, 3, tzinfo=timezone.utc)
LONG_SUMMARY = "青川市心血管病医疗质量控制中心2027年1月工作调度会，主题：年度改进目标落实情况；医疗质量安全（不良）事件发生与溯源情况等"


def make(**overrides) -> str:
    args = dict(
        uid="dispatch-CARD-2027-01@qcflow.local", start=START, duration_minutes=60, summary=LONG_SUMMARY,
        description="第一行\n第二行, 含逗号; 分号 \\ 反斜杠", location="卫健委3楼会议室",
        organizer_email="qcflow@qcflow.local", attendees=[("陆一鸣", "director@card.qingchuan.example")],
        organizer_name="青川市心血管病医疗质量控制中心", stamp=STAMP,
    )
    args.update(overrides)
    return invitation(**args)


def unfold(text: str) -> list[str]:
    """Content lines as a parser sees them: CRLF + space joins a line to the one before."""
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def prop(text: str, name: str) -> list[str]:
    """Every `name` line (with its parameters) of the event itself (not its time zone or alarm), unfolded."""
    lines = unfold(text)
    event = lines[lines.index("BEGIN:VEVENT"):lines.index("BEGIN:VALARM")]
    return [line for line in event if line.split(":", 1)[0].split(";", 1)[0] == name]


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def test_every_line_ends_in_crlf_and_there_is_no_bare_lf():
    text = make()
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def test_every_physical_line_is_at_most_75_octets_and_valid_utf8():
    text = make(summary=LONG_SUMMARY * 3, location="会" * 200)
    raw = text.encode("utf-8")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert any(len(line) > 70 for line in lines)  # folding actually happened near the limit
    for line in lines:
        line.decode("utf-8")  # no character split across a fold


def test_unfolding_gives_back_the_summary_exactly():
    text = make()
    [summary] = prop(text, "SUMMARY")
    assert "\r\n " in text  # the long Chinese summary was folded
    assert unescape(summary.removeprefix("SUMMARY:")) == LONG_SUMMARY


def test_fold_keeps_short_lines_and_counts_octets_not_characters():
    assert fold("SUMMARY:short") == "SUMMARY:short"
    folded = fold("X:" + "中" * 30)  # 2 + 90 octets
    first, second = folded.split("\r\n")
    assert len(first.encode()) <= 75 and second.startswith(" ")
    assert len(first.encode()) == 74  # 2 + 24 characters of 3 octets; a 25th would make 77
    assert (first + second[1:]) == "X:" + "中" * 30


def test_text_values_are_escaped():
    assert escape_text("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"
    assert escape_text("a\rb\x07c\td") == "a\\nbc\td"  # a bare CR is a newline; BEL is dropped; TAB stays
    [description] = prop(make(), "DESCRIPTION")
    value = description.removeprefix("DESCRIPTION:")
    assert "\\n" in value and "\\," in value and "\\;" in value and "\\\\" in value
    assert unescape(value) == "第一行\n第二行, 含逗号; 分号 \\ 反斜杠"


def test_structure_method_and_product():
    lines = unfold(make())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and "METHOD:REQUEST" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    for block in ("VTIMEZONE", "STANDARD", "VEVENT", "VALARM"):
        assert lines.count(f"BEGIN:{block}") == 1 and lines.count(f"END:{block}") == 1
        assert lines.index(f"BEGIN:{block}") < lines.index(f"END:{block}")
    assert lines.index("END:VTIMEZONE") < lines.index("BEGIN:VEVENT")


def test_the_shanghai_time_zone_is_defined_without_daylight_saving():
    lines = unfold(make())
    zone = lines[lines.index("BEGIN:VTIMEZONE"):lines.index("END:VTIMEZONE") + 1]
    assert "TZID:Asia/Shanghai" in zone
    assert "TZOFFSETFROM:+0800" in zone and "TZOFFSETTO:+0800" in zone
    assert "BEGIN:DAYLIGHT" not in zone


def test_start_and_end_are_local_shanghai_times_and_the_stamp_is_utc():
    text = make()
    assert prop(text, "DTSTART") == ["DTSTART;TZID=Asia/Shanghai:20270105T093000"]
    assert prop(text, "DTEND") == ["DTEND;TZID=Asia/Shanghai:20270105T103000"]
    assert prop(text, "DTSTAMP") == ["DTSTAMP:20261210T010203Z"]


def test_a_start_given_in_utc_is_written_in_shanghai_time():
    text = make(start=datetime(2027, 1, 5, 1, 30, tzinfo=timezone.utc), duration_minutes=90)
    assert prop(text, "DTSTART") == ["DTSTART;TZID=Asia/Shanghai:20270105T093000"]
    assert prop(text, "DTEND") == ["DTEND;TZID=Asia/Shanghai:20270105T110000"]


def test_the_uid_is_the_one_given_and_the_same_meeting_gives_the_same_text():
    assert prop(make(), "UID") == ["UID:dispatch-CARD-2027-01@qcflow.local"]
    assert make() == make()


def test_organizer_and_attendees_carry_quoted_names_and_mailto_addresses():
    text = make(attendees=[("陆一鸣", "director@card.qingchuan.example"), ('林"小禾', "secretary@card.qingchuan.example")])
    assert prop(text, "ORGANIZER") == ['ORGANIZER;CN="青川市心血管病医疗质量控制中心":mailto:qcflow@qcflow.local']
    attendees = prop(text, "ATTENDEE")
    assert len(attendees) == 2
    assert attendees[0].startswith('ATTENDEE;CN="陆一鸣";')
    assert attendees[0].endswith(":mailto:director@card.qingchuan.example")
    assert "RSVP=TRUE" in attendees[0] and "PARTSTAT=NEEDS-ACTION" in attendees[0]
    assert attendees[1].startswith("ATTENDEE;CN=\"林'小禾\";")  # a quote cannot appear in a parameter value


@pytest.mark.parametrize("override", [
    {"start": datetime(2027, 1, 5, 9, 30)},  # naive: which zone?
    {"attendees": []},
    {"duration_minutes": 0},
    {"uid": "a\r\nb"},
    {"organizer_email": "x@y; RSVP"},
])
def test_invalid_input_is_refused(override):
    with pytest.raises(ValueError):
        make(**override)
