"""The registry of centers and their people: establishment and what `qcflow center` shows."""
from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from models import Case, Center, Institution, Person
from models.registry import Appointment
from qcflow import engine
from qcflow.core.clock import local_date
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services.applications import director_terms, member_from
from qcflow.services.roles import end_post, grant_post
from states import staffing_policy as P
from states.application import APPOINTED_ON, appointment_day
from states.report import INDICATOR_FIELDS
from states.roster import check_change, check_reappointments, may_change
from states.rules import Reason, Refused
from states.staffing import ROLES, Roster, consecutive_terms, term_end
from states.validation import check_roster_change


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@plugins.effect("establish_center")
def establish(session: Session, case: Case, now: datetime) -> Center:
    """The approved center becomes active, its people are appointed for a term (Y§26), and the
    indicators, standards and assessment plan fall due in 3 months (Y§21)."""
    data = case.data
    # Y§11: appointed on the day of approval, or on the later day the commission set with it.
    start, _ = appointment_day(data.get(APPOINTED_ON), local_date(now))
    start = start or local_date(now)
    host = session.exec(select(Institution).where(Institution.code == data["host"])).one()
    center = Center(code=data["center_code"], name=data["center_name"], specialty=data["specialty"],
                    category=data["category"], host_institution_id=host.id, status="active")
    session.add(center)
    session.flush()
    for entry in data["roster"]:
        person = session.exec(select(Person).where(Person.email == str(entry["email"]).lower())).one()
        served = (consecutive_terms(director_terms(session, person.id, center.specialty), start)
                  if entry["role"] == "director" else 0)
        session.add(Appointment(
            center_id=center.id, person_id=person.id, role=entry["role"], group=entry.get("group") or "",
            group_role=entry.get("group_role") or "", term_start=start, term_end=term_end(start),
            consecutive_terms=served + 1,
            department_head=bool(entry.get("department_head")),
            provincial_society_member=bool(entry.get("provincial_society_member")),
            title_exception=entry.get("title_exception") or "",
        ))
        session.flush()
        grant_post(session, person.id, entry["role"], center.id)
    session.flush()
    due = add_months(start, P.INDICATORS_DUE_MONTHS.value)
    engine.open_case(session, "report", center, title=f"{center.name}质控指标、标准及考核方案",
                     data={"report_kind": "indicators", "due_date": due.isoformat(),
                           **{key: "" for key in INDICATOR_FIELDS}},
                     key=f"indicators:{center.code}", now=now)
    return center


def center_rows(session: Session) -> list[dict[str, Any]]:
    institutions = {i.id: i.name for i in session.exec(select(Institution)).all()}
    return [{"code": c.code, "name": c.name, "specialty": c.specialty, "category": c.category,
             "host": institutions.get(c.host_institution_id, ""), "status": c.status}
            for c in session.exec(select(Center).order_by(Center.code)).all()]


def center_detail(session: Session, code: str) -> dict[str, Any]:
    center = session.exec(select(Center).where(Center.code == code)).first()
    if center is None:
        raise Refused([Reason("", f"没有代码为“{code}”的质控中心")])
    rows = session.exec(select(Appointment, Person).join(Person, Person.id == Appointment.person_id)
                        .where(Appointment.center_id == center.id, Appointment.ended_on.is_(None))).all()
    order = list(ROLES)
    people = sorted(({"name": p.name, "email": p.email, "title": p.title, "role": a.role, "role_label": ROLES[a.role],
                      "group": a.group, "term_start": a.term_start.isoformat(), "term_end": a.term_end.isoformat(),
                      "term": a.consecutive_terms} for a, p in rows),
                    key=lambda r: (order.index(r["role"]), r["name"]))
    host = session.get(Institution, center.host_institution_id)
    return {**center_rows_one(center, host), "people": people}


def center_rows_one(center: Center, host: Institution | None) -> dict[str, Any]:
    return {"code": center.code, "name": center.name, "specialty": center.specialty, "category": center.category,
            "host": host.name if host else "", "status": center.status}


def change_roster(session: Session, code: str, email: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Add, remove or re-assign people on an established center, checked by the application's rules.

    data: add: [{email, role, ...roster fields}], remove: [email], change_role: [{email, role}],
    size_justification, reason. Nothing is written when any rule fails."""
    actor = engine.actor_of(session, engine.person_by_email(session, email))
    if reasons := may_change(actor):
        raise Refused(reasons)
    if reasons := check_roster_change(data):  # the data's shape first (states/validation.py)
        raise Refused(reasons)
    center = session.exec(select(Center).where(Center.code == code)).first()
    if center is None:
        raise Refused([Reason("", f"没有代码为“{code}”的质控中心")])
    today = local_date(now)
    institutions = {i.id: i for i in session.exec(select(Institution)).all()}
    current = session.exec(select(Appointment, Person).join(Person, Person.id == Appointment.person_id)
                           .where(Appointment.center_id == center.id, Appointment.ended_on.is_(None))).all()
    entries = {p.email: ({"role": a.role, "group": a.group, "group_role": a.group_role,
                          "department_head": a.department_head, "title_exception": a.title_exception,
                          "provincial_society_member": a.provincial_society_member}, p, a) for a, p in current}
    problems: list[str] = []
    removed = [str(e).lower() for e in data.get("remove", [])]
    for e in removed:
        if e not in entries:
            problems.append(f"{e} 不在{center.name}的在任人员中，无法移出")
    proposed = {e: v for e, v in entries.items() if e not in removed}
    newly_leading: set[str] = set()
    for change in data.get("change_role", []):
        e = str(change.get("email", "")).lower()
        if e not in proposed:
            problems.append(f"{e} 不在{center.name}的在任人员中，无法调整职务")
            continue
        entry, person, appointment = proposed[e]
        proposed[e] = ({**entry, **{k: v for k, v in change.items() if k != "email"}}, person, appointment)
        if change.get("role") in ("director", "deputy") and entry["role"] != change.get("role"):
            newly_leading.add(person.name)
    for entry in data.get("add", []):
        e = str(entry.get("email", "")).lower()
        person = session.exec(select(Person).where(Person.email == e)).first()
        if person is None or person.birth_date is None:
            problems.append(f"{e} 不在人员名录中或缺少出生日期，请先在名录中登记")
            continue
        if e in proposed:
            problems.append(f"{person.name} 已在{center.name}任职")
            continue
        proposed[e] = (entry, person, None)
        if entry.get("role") in ("director", "deputy"):
            newly_leading.add(person.name)
    if problems:
        raise UserError("；".join(problems))
    members = tuple(member_from(p, institutions.get(p.institution_id), entry, problems) for entry, p, _ in proposed.values())
    host = institutions[center.host_institution_id].code
    roster = Roster(center.specialty, host, members, str(data.get("size_justification") or ""))
    reasons = check_change(roster, newly_leading, today, str(data.get("reason") or ""))
    directors = {e: (person, director_terms(session, person.id, center.specialty))
                 for e, (entry, person, _) in proposed.items() if entry.get("role") == "director"
                 and (e not in entries or entries[e][0]["role"] != "director" or e in removed)}
    reasons += check_reappointments({person.name: terms for person, terms in directors.values()}, today)
    if reasons:
        raise Refused(reasons)
    reason = str(data["reason"])
    for e in removed:
        _end(session, entries[e][2], today, f"移出：{reason}")
    for e, (entry, person, appointment) in proposed.items():
        if appointment is not None and entry["role"] == appointment.role:
            continue
        term_end_day = appointment.term_end if appointment is not None else term_end(today)
        if appointment is not None:
            _end(session, appointment, today, f"职务调整：{reason}")
        served = consecutive_terms(directors[e][1], today) if e in directors else 0
        session.add(Appointment(center_id=center.id, person_id=person.id, role=entry["role"],
                                group=entry.get("group") or "", group_role=entry.get("group_role") or "",
                                term_start=today, term_end=term_end_day, consecutive_terms=served + 1,
                                department_head=bool(entry.get("department_head")),
                                provincial_society_member=bool(entry.get("provincial_society_member")),
                                title_exception=entry.get("title_exception") or ""))
        session.flush()
        grant_post(session, person.id, entry["role"], center.id)
    session.flush()
    return {"center": code, "removed": removed, "changed": sorted(newly_leading), "reason": reason}


def _end(session: Session, appointment: Appointment, day: date, why: str) -> None:
    appointment.ended_on, appointment.ended_reason = day, why
    session.add(appointment)
    session.flush()
    end_post(session, appointment.person_id, appointment.role, appointment.center_id)
