"""Terms (Y§26(一)(二)): the notice to the commission 3 months before a term ends, with the term's
yearly grades, the commission's decision, and the list of terms ending soon (`qcflow center terms`).

The notice is a `term` case opened by the system, one per center and last day of term (its key), so
a rerun, a missed day caught up or a second scheduler opens it once. What it decides is in states/terms.py.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Person
from models.assessment import AssessmentResult
from models.registry import Appointment
from qcflow import engine
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services.registry import current_posts, renew_terms
from qcflow.store.raw import Raw
from states import terms as T
from states.staffing import ROLES, Member, Roster, check_leaders

def term_grades(session: Session, center_code: str, first: date, last: date) -> list[dict[str, Any]]:
    """The center's published yearly grades for the years of a term (Y§26(二)); empty: none yet."""
    rows = session.exec(select(AssessmentResult).where(AssessmentResult.center_code == center_code,
                                                       AssessmentResult.year >= first.year,
                                                       AssessmentResult.year <= last.year)
                        .order_by(AssessmentResult.year)).all()
    return [{"year": r.year, "grade": r.grade, "score": round(r.score + r.bonus, 1)} for r in rows]


def _people(rows: list[tuple[Appointment, Person]]) -> list[dict[str, Any]]:
    order = list(ROLES)
    return sorted(({"name": p.name, "role": a.role, "role_label": ROLES.get(a.role, a.role),
                    "term_start": a.term_start.isoformat(), "term_end": a.term_end.isoformat(),
                    "term": a.consecutive_terms} for a, p in rows),
                  key=lambda r: (order.index(r["role"]) if r["role"] in order else 99, r["name"]))


def open_term_notices(session: Session, now: Optional[datetime] = None) -> list[str]:
    """Open a `term` case for every active center whose people's term ends within the notice period
    (Y§26: 3 months); once per center and term. Returns the keys opened by this call."""
    now = now or utcnow()
    today = local_date(now)
    opened = []
    for center in session.exec(select(Center).where(Center.status == "active").order_by(Center.code)).all():
        by_end: dict[date, list[tuple[Appointment, Person]]] = {}
        for appointment, person in current_posts(session, center.id):
            if T.ending_soon(appointment.term_end, today):
                by_end.setdefault(appointment.term_end, []).append((appointment, person))
        for last_day, rows in sorted(by_end.items()):
            first_day = min(a.term_start for a, _ in rows)
            people = _people(rows)
            grades = term_grades(session, center.code, first_day, last_day)
            key = f"term:{center.code}:{last_day.isoformat()}"
            case = engine.open_case(
                session, "term", center, title=f"{center.name}聘期将于{last_day.isoformat()}届满",
                data={"term_start": first_day.isoformat(), "term_end": last_day.isoformat(), "people": people,
                      "people_text": T.people_text(people), "grades": grades, "grades_text": T.grades_text(grades)},
                key=key, now=now)
            if case is not None:
                opened.append(key)
    return opened


@plugins.provides_facts("term")
def _term_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The director whose term the case is about, with the consecutive terms served so far (Y§26(一)),
    and what Y§11 says of the director and deputies on the first day of the next term."""
    last_day = date.fromisoformat(str(data["term_end"]))
    center = session.get(Center, case.center_id)
    facts: dict[str, Any] = {}
    leaders = []
    for appointment, person in current_posts(session, case.center_id):
        if appointment.term_end != last_day or appointment.role not in ("director", "deputy"):
            continue
        if appointment.role == "director":
            facts["director"] = (person.name, appointment.consecutive_terms)
        if person.birth_date is not None:
            leaders.append(Member(name=person.name, role=appointment.role, title=person.title,
                                  birth_date=person.birth_date, institution_code="", institution_county_level=False,
                                  department_head=appointment.department_head, penalty_dates=(),
                                  provincial_society_member=appointment.provincial_society_member))
    facts["leader_reasons"] = check_leaders(Roster(center.specialty, "", tuple(leaders)), T.next_term_start(last_day))
    return facts


@plugins.effect("reappoint_term")
def _reappoint(session: Session, case: Case, now: datetime) -> None:
    renew_terms(session, case.center_id, date.fromisoformat(str(case.data["term_end"])))


def terms_ending(session: Session, today: date, within_days: Optional[int] = None) -> list[dict[str, Any]]:
    """Current terms, soonest end first; with `within_days`, only those ending within that many days."""
    if within_days is not None and not 0 <= within_days <= 3660:
        raise UserError(f"天数 {within_days} 无效：应为 0 到 3660 之间的整数")
    latest = today + timedelta(days=within_days) if within_days is not None else None
    raw = Raw(session)
    notices = {key: (case_id, state) for case_id, key, state in raw.rows(
        "SELECT id, \"key\", state FROM qc_case WHERE kind = 'term'")}
    rows = []
    for code, name, person, role, start, end, n in raw.rows(
            "SELECT c.code, c.name, p.name, a.role, a.term_start, a.term_end, a.consecutive_terms "
            "FROM appointment a JOIN center c ON c.id = a.center_id JOIN person p ON p.id = a.person_id "
            "WHERE a.ended_on IS NULL ORDER BY a.term_end, c.code, a.id"):
        end_day = end if isinstance(end, date) else date.fromisoformat(str(end)[:10])
        if latest is not None and end_day > latest:
            continue
        notice = notices.get(f"term:{code}:{end_day.isoformat()}")
        rows.append({"center": code, "center_name": name, "person": person, "role": role,
                     "role_label": ROLES.get(role, role), "term_start": str(start)[:10], "term_end": end_day.isoformat(),
                     "term": n, "days_left": (end_day - today).days,
                     "notice_case": notice[0] if notice else None,
                     "notice_state": T.WORKFLOW.state_label(notice[1]) if notice else "",
                     "ending_soon": T.ending_soon(end_day, today)})
    return rows
