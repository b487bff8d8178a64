"""The registry of centers and their people: establishment and what `qcflow center` shows."""
from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from models import Case, Center, Institution, Person, RoleAssignment
from models.registry import Appointment
from qcflow import engine
from qcflow.clock import local_date
from states import staffing_policy as P
from states.staffing import ROLES, term_end

CENTER_ROLE = {"director": "center_director", "deputy": "center_deputy", "secretary": "center_secretary",
               "member": "center_member", "advisor": "center_advisor"}


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def establish(session: Session, case: Case, now: datetime) -> Center:
    """The approved center becomes active, its people are appointed for a term (Y§26), and the
    indicators, standards and assessment plan fall due in 3 months (Y§21)."""
    data = case.data
    start = local_date(now)
    host = session.exec(select(Institution).where(Institution.code == data["host"])).one()
    center = Center(code=data["center_code"], name=data["center_name"], specialty=data["specialty"],
                    category=data["category"], host_institution_id=host.id, status="active")
    session.add(center)
    session.flush()
    for entry in data["roster"]:
        person = session.exec(select(Person).where(Person.email == str(entry["email"]).lower())).one()
        session.add(Appointment(
            center_id=center.id, person_id=person.id, role=entry["role"], group=entry.get("group") or "",
            group_role=entry.get("group_role") or "", term_start=start, term_end=term_end(start),
            department_head=bool(entry.get("department_head")),
            provincial_society_member=bool(entry.get("provincial_society_member")),
            title_exception=entry.get("title_exception") or "",
        ))
        session.add(RoleAssignment(person_id=person.id, role=CENTER_ROLE[entry["role"]], center_id=center.id))
    session.flush()
    due = add_months(start, P.INDICATORS_DUE_MONTHS.value)
    engine.open_case(session, "report", center, title=f"{center.name}质控指标、标准及考核方案",
                     data={"report_kind": "indicators", "due_date": due.isoformat(), "summary": "", "plan": ""},
                     key=f"indicators:{center.code}", now=now)
    return center


def center_rows(session: Session) -> list[dict[str, Any]]:
    institutions = {i.id: i.name for i in session.exec(select(Institution)).all()}
    return [{"code": c.code, "name": c.name, "specialty": c.specialty, "category": c.category,
             "host": institutions.get(c.host_institution_id, ""), "status": c.status}
            for c in session.exec(select(Center).order_by(Center.code)).all()]


def center_detail(session: Session, code: str) -> dict[str, Any]:
    from states.rules import Reason, Refused

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
