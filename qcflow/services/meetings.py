"""Meetings and trainings (Y§19) and the monthly dispatch meeting (H4): record, list, remind, invite.

The rules are in states.meetings; this module reads and writes the database and queues the emails
in the caller's transaction. Each reminder and invitation takes a key in the dispatch ledger first,
so a rerun, a retry or a second scheduler sends nothing twice.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlmodel import Session, select

from models import Center, Commission, Meeting, Person
from models.governance import DispatchAgenda
from models.registry import Appointment
from notifications.ics import invitation
from qcflow.store.calendar import calendar_for
from qcflow.core.clock import local_date, utcnow
from qcflow.engine import actor_of, person_by_email
from qcflow.store.ledger import claim
from qcflow.engine.outbox import Recipient, center_people, enqueue
from qcflow.core.runtime import get_settings
from qcflow.services.evidence import Evidence, register_source
from states.meetings import (
    DISPATCH_MEETING, DISPATCH_TOPICS, MEETING_KINDS, dispatch_missing_months, month_label, Obligation, clean_meeting, kind_label, may_record, missing_obligations,
    next_dispatch_meeting, year_of,
)
from states.rules import Reason, Refused

log = logging.getLogger(__name__)

REMIND_ROLES = ("center_director", "center_secretary")
INVITE_ROLES = ("center_director",)
INVITE_FALLBACK_ROLES = ("center_secretary",)  # a center without a director (Y§26(3) vacancy) still hears of it
WEEKDAYS = "一二三四五六日"


def _today(today: Optional[date]) -> date:
    return today or local_date(utcnow())


def _center(session: Session, code: str) -> Center:
    center = session.exec(select(Center).where(Center.code == (code or "").strip())).first()
    if center is None:
        raise Refused([Reason("名录", f"没有代码为“{code}”的质控中心")])
    return center


def _commission_name(session: Session) -> str:
    commission = session.exec(select(Commission)).first()
    return commission.name if commission else "卫生健康委员会"


def _day_label(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def record_meeting(session: Session, center_code: str, email: str, data: Any,
                   today: Optional[date] = None) -> Meeting:
    """Record a meeting the center held, as one of its director, deputies or secretary. Refused: nothing written."""
    center = _center(session, center_code)
    actor = actor_of(session, person_by_email(session, email))
    reasons = may_record(actor, center.id, center.name)
    if reasons:
        raise Refused(reasons)
    clean, reasons = clean_meeting(data, _today(today))
    if reasons:
        raise Refused(reasons)
    topics = clean.pop("topics", [])
    meeting = Meeting(center_id=center.id, recorded_by_id=actor.person_id, created_at=utcnow(), **clean)
    session.add(meeting)
    session.flush()
    if topics:  # H4: what the dispatch meeting covered
        session.add(DispatchAgenda(meeting_id=meeting.id, topics=topics))
        session.flush()
    return meeting


def list_meetings(session: Session, center_code: Optional[str] = None, year: Optional[int] = None) -> list[dict]:
    """Recorded meetings, oldest first, optionally of one center and one year."""
    query = (select(Meeting, Center, Person).join(Center, Center.id == Meeting.center_id)
             .join(Person, Person.id == Meeting.recorded_by_id))
    if center_code:
        query = query.where(Meeting.center_id == _center(session, center_code).id)
    if year is not None:
        period = year_of(date(year, 1, 1))
        query = query.where(Meeting.held_on >= period.start, Meeting.held_on <= period.end)
    rows = session.exec(query.order_by(Meeting.held_on, Meeting.id)).all()
    ids = [m.id for m, _, _ in rows]
    agendas = {a.meeting_id: a.topics for a in session.exec(
        select(DispatchAgenda).where(DispatchAgenda.meeting_id.in_(ids)))} if ids else {}
    return [{
        "id": m.id, "center": c.code, "center_name": c.name, "kind": m.kind, "kind_label": kind_label(m.kind),
        "held_on": m.held_on.isoformat(), "title": m.title, "attendees": list(m.attendees),
        "minutes": m.minutes, "files": list(m.files), "recorded_by": p.name, "recorded_by_email": p.email,
        "recorded_at": m.created_at.isoformat(),
        "topics": [{**t, "label": DISPATCH_TOPICS.get(t["topic"], t["topic"])} for t in agendas.get(m.id, [])],
    } for m, c, p in rows]


def _active_centers(session: Session) -> list[Center]:
    return list(session.exec(select(Center).where(Center.status == "active").order_by(Center.code)).all())


def remind_missing(session: Session, today: Optional[date] = None) -> list[str]:
    """Remind every active center of a Y§19 meeting or training not yet held in the period; each once.

    Returns the ledger keys of the reminders queued by this call."""
    today = _today(today)
    centers = _active_centers(session)
    held: dict[int, list[tuple[str, date]]] = {c.id: [] for c in centers}
    since = date(today.year, 1, 1)  # both periods (half-year, year) lie in today's year
    for center_id, kind, day in session.exec(select(Meeting.center_id, Meeting.kind, Meeting.held_on)
                                             .where(Meeting.held_on >= since)):
        held.setdefault(center_id, []).append((kind, day))
    commission_name = _commission_name(session)
    sent = []
    for center in centers:
        for obligation in missing_obligations(held[center.id], today):
            key = f"meeting:{center.code}:{obligation.key}"
            people = center_people(session, center.id, REMIND_ROLES)
            if not people:
                log.warning("%s 没有主任或秘书，无法发送%s提醒", center.name, obligation.label)
                continue
            if not claim(session, key, "remind", utcnow()):
                continue
            context = _reminder_context(commission_name, center, obligation, today)
            for person in people:
                enqueue(session, person, "meeting_reminder", context, None, utcnow())
            sent.append(key)
    session.flush()
    return sent


def _reminder_context(commission_name: str, center: Center, obligation: Obligation, today: date) -> dict:
    return {
        "commission_name": commission_name,
        "center_name": center.name,
        "obligation_label": obligation.label,
        "kind_label": MEETING_KINDS[obligation.kind].label,
        "period_label": obligation.period.label,
        "period_unit": obligation.period.unit,
        "period_end": _day_label(obligation.period_end),
        "minimum": obligation.minimum,
        "rule": obligation.rule,
        "today": _day_label(today),
    }


def _invitees(session: Session, center: Center) -> list[Recipient]:
    return center_people(session, center.id, INVITE_ROLES) or center_people(session, center.id, INVITE_FALLBACK_ROLES)


def send_dispatch_invitations(session: Session, today: Optional[date] = None) -> list[str]:
    """Invite every active center to next month's dispatch meeting (H4) with a calendar file; once a month.

    Returns the ledger keys of the invitations queued by this call."""
    today = _today(today)
    policy = DISPATCH_MEETING
    start = next_dispatch_meeting(today, calendar_for(session), policy)
    end = start + timedelta(minutes=policy.duration_minutes)
    month = start.strftime("%Y-%m")
    commission_name = _commission_name(session)
    domain = get_settings().mail_from.partition("@")[2] or "qcflow.local"
    sent = []
    for center in _active_centers(session):
        people = _invitees(session, center)
        if not people:
            log.warning("%s 没有主任或秘书，无法发送%s月调度会议邀请", center.name, month)
            continue
        key = f"dispatch:{center.code}:{month}"
        if not claim(session, key, "invite", utcnow()):
            continue
        summary = f"{center.name}{start.year}年{start.month}月工作调度会"
        ics = invitation(
            uid=f"dispatch-{center.code}-{month}@{domain}", start=start, duration_minutes=policy.duration_minutes,
            summary=summary, description=f"每月工作调度会（{policy.rule}）。主题：{policy.topics}。",
            location=policy.location, organizer_email=get_settings().mail_from, organizer_name=center.name,
            attendees=[(p.name, p.email) for p in people], stamp=utcnow(),
        )
        context = {
            "commission_name": commission_name, "center_name": center.name, "meeting_title": summary,
            "meeting_time": _time_label(start, end), "location": policy.location, "topics": policy.topics,
            "rule": policy.rule,
        }
        attachment = {"filename": "dispatch-meeting.ics", "content_type": "text/calendar", "content": ics,
                      "method": "REQUEST"}
        for person in people:
            enqueue(session, person, "dispatch_invite", context, None, utcnow(), attachments=[attachment])
        sent.append(key)
    session.flush()
    return sent


def _time_label(start: datetime, end: datetime) -> str:
    return f"{_day_label(start.date())}（星期{WEEKDAYS[start.weekday()]}）{start:%H:%M}—{end:%H:%M}"


# --- the dispatch meeting held (H4) ----------------------------------------------------------------

def dispatch_months_missing(session: Session, center: Center, today: Optional[date] = None) -> list[dict]:
    """The completed months without a recorded dispatch meeting (H4), counted from the month the
    center's first people took up their posts: what the center page, /due and the assessment show."""
    today = _today(today)
    since = session.exec(select(Appointment.term_start).where(Appointment.center_id == center.id)
                         .order_by(Appointment.term_start)).first()
    held = session.exec(select(Meeting.held_on).where(Meeting.center_id == center.id,
                                                      Meeting.kind == "dispatch")).all()
    return [{"month": m.strftime("%Y-%m"), "label": f"{month_label(m)}未召开工作调度会", "rule": DISPATCH_MEETING.rule}
            for m in dispatch_missing_months(held, today, since)]


def dispatch_obligations(session: Session, today: Optional[date] = None,
                         center_code: Optional[str] = None) -> list[dict]:
    """Every active center's months without a dispatch meeting (H4), for the obligations pages."""
    centers = [_center(session, center_code)] if center_code else _active_centers(session)
    return [{"center": c.code, "center_name": c.name, **row}
            for c in centers for row in dispatch_months_missing(session, c, today)]


def _dispatch_evidence(session: Session, center: Center, year: int) -> list[Evidence]:
    """The assessment's evidence (H4, H7): each dispatch meeting of the year, and each month without one."""
    held = [m for m in list_meetings(session, center.code, year) if m["kind"] == "dispatch"]
    found = [Evidence(f"{m['held_on']} {m['title']}", note="议题：" + "、".join(t["label"] for t in m["topics"]))
             for m in held]
    last_day = min(date(year, 12, 31), _today(None))
    found += [Evidence(row["label"], note=f"每月召开一次调度会（{row['rule']}）")
              for row in dispatch_months_missing(session, center, last_day + timedelta(days=1))
              if row["month"].startswith(str(year))]
    return found


register_source("4", "每月工作调度会（H4）", _dispatch_evidence)
