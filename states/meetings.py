"""Meetings and trainings a center holds (Y§19) and the monthly dispatch meeting (H4). Pure rules, no I/O.

Y§19: at least one member work meeting (成员工作会议) per half-year and at least one training (培训)
per year; a center that has recorded none by the period's last stretch is reminded before it ends.
H4: every month a dispatch meeting (调度会); its invitation carries a calendar file.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from states.policy import Limit
from states.rules import Actor, Reason
from states.workdays import WorkCalendar


@dataclass(frozen=True)
class MeetingKind:
    label: str
    rule: str


MEETING_KINDS: dict[str, MeetingKind] = {
    "member_meeting": MeetingKind("成员工作会议", "Y§19"),
    "training": MeetingKind("培训", "Y§19"),
    "dispatch": MeetingKind("调度会议", "H4"),
}

# Y§19: the minimum per period, and from how many months before the period ends a center that has
# none is reminded (1 = the half-year's last month, June or December; 3 = the fourth quarter).
MEMBER_MEETINGS_PER_HALF_YEAR = Limit(1, "Y§19")
MEMBER_MEETING_REMIND_LAST_MONTHS = Limit(1, "Y§19")
TRAININGS_PER_YEAR = Limit(1, "Y§19")
TRAINING_REMIND_LAST_MONTHS = Limit(3, "Y§19")

TITLE_MAX_CHARS = Limit(100, "平台")  # not from the rules: keeps titles to a line in lists and mails
RECORDERS = ("center_director", "center_deputy", "center_secretary")  # DOMAIN.md: center staff record meetings


@dataclass(frozen=True)
class DispatchMeetingPolicy:
    """H4: the monthly dispatch meeting is held on the first working day on or after `day` of the month."""

    day: int = 5
    at: time = time(9, 30)
    duration_minutes: int = 60
    timezone: str = "Asia/Shanghai"
    location: str = "以会议通知为准"
    topics: str = "年度改进目标落实情况、医疗质量安全（不良）事件发生与溯源情况等"
    rule: str = "H4"


DISPATCH_MEETING = DispatchMeetingPolicy()

_FIELDS = ("kind", "held_on", "title", "attendees", "minutes", "files", "topics")
_ATTENDEE_FIELDS = ("name", "title", "institution", "level")


# --- recording ------------------------------------------------------------------------------------

def kind_label(kind: str) -> str:
    found = MEETING_KINDS.get(kind)
    return found.label if found else kind


def _known_kinds() -> str:
    return "、".join(f"{k}（{v.label}）" for k, v in MEETING_KINDS.items())


def _as_date(value: Any) -> Optional[date]:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _text(value: Any) -> Optional[str]:
    """A string field's value, stripped; None when it is not text."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def clean_meeting(data: Any, today: date) -> tuple[dict[str, Any], list[Reason]]:
    """The meeting as it will be stored, and every rule the data breaks (an empty list: it may be recorded)."""
    if not isinstance(data, dict):
        return {}, [Reason("Y§19", "会议数据应为键值对：kind、held_on、title、attendees，可选 minutes、files")]
    kind = str(data.get("kind") or "").strip()
    rule = MEETING_KINDS[kind].rule if kind in MEETING_KINDS else "Y§19"
    reasons: list[Reason] = []

    unknown = sorted(str(k) for k in data if k not in _FIELDS)
    if unknown:
        reasons.append(Reason(rule, f"会议数据中有无法识别的字段：{'、'.join(unknown)}；可用字段：{'、'.join(_FIELDS)}"))
    if kind not in MEETING_KINDS:
        shown = f"“{kind}”无效" if kind else "未填写"
        reasons.append(Reason(rule, f"会议类型（kind）{shown}，应为：{_known_kinds()}"))

    held_on = _as_date(data.get("held_on"))
    if held_on is None:
        reasons.append(Reason(rule, "召开日期（held_on）未填写或无效，应写成 YYYY-MM-DD"))
    elif held_on > today:
        reasons.append(Reason(rule, f"召开日期 {held_on.isoformat()} 晚于今天（{today.isoformat()}）；会议召开后才能登记"))

    title = _text(data.get("title"))
    if not title:
        reasons.append(Reason(rule, "会议名称（title）不能为空"))
    elif len(title) > TITLE_MAX_CHARS.value:
        reasons.append(Reason(rule, f"会议名称 {len(title)} 字，超过 {TITLE_MAX_CHARS.value} 字上限"))

    attendees = _clean_attendees(data.get("attendees"), rule, reasons)

    minutes = _text(data.get("minutes"))
    if minutes is None:
        reasons.append(Reason(rule, "会议纪要（minutes）应为文字"))

    files_raw = data.get("files") if data.get("files") is not None else []
    files: list[str] = []
    if not isinstance(files_raw, list):
        reasons.append(Reason(rule, "附件（files）应为文件名列表"))
    else:
        for i, name in enumerate(files_raw, 1):
            text = _text(name)
            if not text:
                reasons.append(Reason(rule, f"附件第 {i} 项应为非空的文件名"))
            else:
                files.append(text)

    topics = _clean_topics(data.get("topics"), kind, reasons)
    if kind == "dispatch":
        reasons += dispatch_held_faults(attendees, minutes or "", topics)

    if reasons:
        return {}, reasons
    return {"kind": kind, "held_on": held_on, "title": title, "attendees": attendees,
            "minutes": minutes, "files": files, "topics": topics}, []


def _clean_attendees(raw: Any, rule: str, reasons: list[Reason]) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        reasons.append(Reason(rule, "参会人员（attendees）不能为空：每人写 name（姓名），可选 title（职称）、institution（单位）"))
        return []
    out: list[dict[str, str]] = []
    for i, person in enumerate(raw, 1):
        if not isinstance(person, dict):
            reasons.append(Reason(rule, f"参会人员第 {i} 位应写成 {{name: 姓名, title: 职称, institution: 单位}}"))
            continue
        unknown = sorted(str(k) for k in person if k not in _ATTENDEE_FIELDS)
        if unknown:
            reasons.append(Reason(rule, f"参会人员第 {i} 位有无法识别的字段：{'、'.join(unknown)}"))
        values = {f: _text(person.get(f)) for f in _ATTENDEE_FIELDS}
        if values["level"] and values["level"] not in ATTENDEE_LEVELS:
            reasons.append(Reason(rule, f"参会人员第 {i} 位的层级（level）“{values['level']}”无效，应为："
                                        + "、".join(f"{k}（{v}）" for k, v in ATTENDEE_LEVELS.items())))
        if not values["name"]:
            reasons.append(Reason(rule, f"参会人员第 {i} 位未填写姓名（name）"))
        for field in ("title", "institution", "level"):
            if values[field] is None:
                reasons.append(Reason(rule, f"参会人员第 {i} 位的 {field} 应为文字"))
        out.append({f: v for f, v in values.items() if v})
    return out


def validate_meeting(data: Any, today: date) -> list[Reason]:
    """Every rule the meeting data breaks; empty when it may be recorded."""
    return clean_meeting(data, today)[1]


def may_record(actor: Actor, center_id: int, center_name: str = "该质控中心") -> list[Reason]:
    """Only the center's own director, deputy or secretary records its meetings (Y§19)."""
    if any(actor.holds(role, center_id) for role in RECORDERS):
        return []
    return [Reason("Y§19", f"{actor.name}不是{center_name}的主任、副主任或秘书，不能登记该中心的会议和培训")]


# --- obligations ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    code: str  # 2026H1, 2026H2 or 2026
    label: str  # 2026年上半年
    start: date
    end: date
    unit: str  # 半年 or 年: "at least N per ..."

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def half_year_of(day: date) -> Period:
    if day.month <= 6:
        return Period(f"{day.year}H1", f"{day.year}年上半年", date(day.year, 1, 1), date(day.year, 6, 30), "半年")
    return Period(f"{day.year}H2", f"{day.year}年下半年", date(day.year, 7, 1), date(day.year, 12, 31), "半年")


def year_of(day: date) -> Period:
    return Period(str(day.year), f"{day.year}年", date(day.year, 1, 1), date(day.year, 12, 31), "年")


def _in_last_months(today: date, period: Period, months: int) -> bool:
    first_month = period.end.month - months + 1
    return period.contains(today) and today.month >= first_month


@dataclass(frozen=True)
class Obligation:
    key: str  # e.g. member_meeting:2026H2, training:2026 (one reminder per center and key)
    kind: str
    label: str  # e.g. 2026年下半年成员工作会议
    rule: str
    period: Period
    minimum: int

    @property
    def period_end(self) -> date:
        return self.period.end


@dataclass(frozen=True)
class _Requirement:
    kind: str
    period_of: Callable[[date], "Period"]
    minimum: Limit
    remind_last_months: Limit


REQUIREMENTS = (
    _Requirement("member_meeting", half_year_of, MEMBER_MEETINGS_PER_HALF_YEAR, MEMBER_MEETING_REMIND_LAST_MONTHS),
    _Requirement("training", year_of, TRAININGS_PER_YEAR, TRAINING_REMIND_LAST_MONTHS),
)


def missing_obligations(meetings: Iterable[tuple[str, date]], today: date) -> list[Obligation]:
    """Y§19 obligations of the current period not yet met, once today is in the period's reminder window.

    `meetings` holds (kind, held_on) of the center's recorded meetings."""
    meetings = list(meetings)
    missing = []
    for req in REQUIREMENTS:
        period = req.period_of(today)
        if not _in_last_months(today, period, req.remind_last_months.value):
            continue
        held = sum(1 for kind, day in meetings if kind == req.kind and period.contains(day))
        if held < req.minimum.value:
            missing.append(Obligation(
                key=f"{req.kind}:{period.code}", kind=req.kind,
                label=f"{period.label}{MEETING_KINDS[req.kind].label}", rule=req.minimum.rule,
                period=period, minimum=req.minimum.value,
            ))
    return missing


# --- the monthly dispatch meeting (H4) -------------------------------------------------------------

def next_dispatch_meeting(today: date, calendar: WorkCalendar,
                          policy: DispatchMeetingPolicy = DISPATCH_MEETING) -> datetime:
    """Next month's dispatch meeting: the first working day on or after the policy's day, at its time."""
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    day = first_of_next.replace(day=policy.day)
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, policy.at, tzinfo=ZoneInfo(policy.timezone))


# --- the dispatch meeting held (H4) ----------------------------------------------------------------
# H4: 每月召开一次调度会，积极主动对接上级、联络下级质控中心（组织），主题聚焦年度改进目标落实情况、
# 医疗质量安全（不良）事件发生与溯源情况等，必要时可邀请国家质控中心参加。

DISPATCH_TOPICS = {
    "improvement_goals": "年度改进目标落实情况",
    "adverse_events": "医疗质量安全（不良）事件发生与溯源情况",
    "other": "其他议题",
}
DISPATCH_REQUIRED_TOPICS = ("improvement_goals", "adverse_events")
ATTENDEE_LEVELS = {
    "national": "国家质控中心",
    "upper": "上级质控中心",
    "same": "本级",
    "lower": "下级质控中心（组织）",
}
# The levels a dispatch meeting links: the level above (the national center counts as above) and below.
DISPATCH_LEVELS_REQUIRED = {"upper": ("upper", "national"), "lower": ("lower",)}
DISPATCH_PER_MONTH = Limit(1, "H4")
DISPATCH_LOOKBACK_MONTHS = Limit(12, "H4")  # how far back a month without one is still shown


def _clean_topics(raw: Any, kind: str, reasons: list[Reason]) -> list[dict[str, str]]:
    if raw in (None, []):
        return []
    if kind != "dispatch":
        reasons.append(Reason(MEETING_KINDS.get(kind, MEETING_KINDS["dispatch"]).rule,
                              "只有调度会议（dispatch）登记议题（topics）"))
        return []
    if not isinstance(raw, list):
        reasons.append(Reason("H4", "议题（topics）应为列表，每项写 topic（议题类别）和 note（情况）"))
        return []
    out = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or sorted(item) not in (["note", "topic"], ["topic"]):
            reasons.append(Reason("H4", f"议题第 {i} 项应写成 {{topic: 议题类别, note: 讨论情况}}"))
            continue
        topic, note = str(item.get("topic") or "").strip(), _text(item.get("note"))
        if topic not in DISPATCH_TOPICS:
            reasons.append(Reason("H4", f"议题第 {i} 项的类别“{topic}”无效，应为："
                                        + "、".join(f"{k}（{v}）" for k, v in DISPATCH_TOPICS.items())))
        elif not note:
            reasons.append(Reason("H4", f"议题第 {i} 项（{DISPATCH_TOPICS[topic]}）须写明讨论情况（note）"))
        else:
            out.append({"topic": topic, "note": note})
    return out


def dispatch_held_faults(attendees: list[dict[str, str]], minutes: str, topics: list[dict[str, str]]) -> list[Reason]:
    """H4: what a dispatch meeting's record must show to count as held."""
    reasons = []
    covered = {t["topic"] for t in topics}
    for topic in DISPATCH_REQUIRED_TOPICS:
        if topic not in covered:
            reasons.append(Reason("H4", f"调度会须有议题“{DISPATCH_TOPICS[topic]}”（topics 中 topic: {topic}，并写明情况）"))
    levels = {a.get("level") for a in attendees}
    for need, accepted in DISPATCH_LEVELS_REQUIRED.items():
        if not levels & set(accepted):
            reasons.append(Reason("H4", f"调度会须有{ATTENDEE_LEVELS[need]}的人员参加（参会人员的 level 写 {need}）"))
    if not minutes.strip():
        reasons.append(Reason("H4", "调度会须登记会议纪要（minutes）"))
    return reasons


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


def dispatch_missing_months(held: Iterable[date], today: date, since: Optional[date]) -> list[date]:
    """The completed months (their first days), from the month of `since` and within the lookback, in
    which no dispatch meeting was held (H4). None `since`: the center has no one in post, nothing is owed."""
    if since is None:
        return []
    held_months = {(d.year, d.month) for d in held}
    first = since.replace(day=1)
    this_month = today.replace(day=1)
    earliest = this_month
    for _ in range(DISPATCH_LOOKBACK_MONTHS.value):
        earliest = (earliest - timedelta(days=1)).replace(day=1)
    month = max(first, earliest)
    missing = []
    while month < this_month:
        if sum(1 for m in held_months if m == (month.year, month.month)) < DISPATCH_PER_MONTH.value:
            missing.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return missing
