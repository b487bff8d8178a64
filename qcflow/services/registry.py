"""The registry of centers and their people: establishment and what `qcflow center` shows."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

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
from states.vacancy import WORKFLOW as VACANCY, vacant_seats
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
    members += vacant_seats(vacant_posts(session, center.id))  # Y§26(三): open vacancies keep their seats
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


# --- Y§26, Y§29: terms of the posts a directory file lists (added for issue 10) ------------------
# A center loaded from the directory was set up before these rules (Y§29); its people still serve a
# 4-year term, from the `term_start` the file gives or else the day of the load, as the Nth
# consecutive term the file says (`director_term`). Such an appointment is marked `directory`, so a
# later file that no longer lists the post ends it (and with it the role); posts the registry
# appointed stay.

DIRECTORY = "directory"
ENDED_BY_DIRECTORY = "名录中不再列为该职务"
RENEWED = "聘期届满，续聘下一届"
# How a post ended is recorded once, on the appointment (`ended_reason`), by the service that decided it.
# Only the directory's own ends and renewals are not decisions; any other end (a vacancy, a removal, a
# handover, a roster change, and whatever is added later) is one, and a directory file never reverses it.
NOT_DECISIONS = (ENDED_BY_DIRECTORY, RENEWED)
# The article behind each kind of decision, by the start of the reason its service records.
_DECISION_ARTICLES = (("因故不能继续履职", "Y§26"), ("依据第二十六条", "Y§26"), ("挂靠单位变更", "Y§27"),
                      ("移出", "Y§10"), ("职务调整", "Y§10"))


def decision_article(reason: str) -> str:
    return next((article for prefix, article in _DECISION_ARTICLES if reason.startswith(prefix)), "Y§26")


@dataclass(frozen=True)
class ListedPost:
    """A center post as the directory file lists it for one person."""

    post: str  # director / deputy / secretary / member / advisor
    center_id: int
    term_start: Optional[date]
    consecutive_terms: int = 1
    group: str = ""
    group_role: str = ""
    department_head: bool = False
    provincial_society_member: bool = False
    title_exception: str = ""


@dataclass(frozen=True)
class KeptDecision:
    """A listed post the file did not get its way on, because a case decided otherwise."""

    post: str
    center_id: int
    ended_on: Optional[date]  # None: the post stands, only the file's term start was not taken
    reason: str
    article: str


@dataclass
class PostSync:
    changed: int = 0
    ended: int = 0
    kept: list[KeptDecision] = field(default_factory=list)


def _decided_ends(session: Session, person_id: int) -> dict[tuple[str, int], Appointment]:
    """The person's posts whose last appointment a decision ended (latest end per post and center)."""
    rows = session.exec(select(Appointment).where(Appointment.person_id == person_id,
                                                  Appointment.ended_on.is_not(None))
                        .order_by(Appointment.ended_on, Appointment.id)).all()
    latest = {(a.role, a.center_id): a for a in rows}
    return {key: a for key, a in latest.items() if a.ended_reason not in NOT_DECISIONS}


def _renewed(session: Session, person_id: int, post: str, center_id: int) -> bool:
    return session.exec(select(Appointment.id).where(
        Appointment.person_id == person_id, Appointment.role == post, Appointment.center_id == center_id,
        Appointment.ended_reason == RENEWED)).first() is not None


def sync_directory_posts(session: Session, person_id: int, listed: list[ListedPost], today: date,
                         closed_centers: frozenset[int] = frozenset()) -> PostSync:
    """Give each listed post a current appointment and end the directory's appointments the file no
    longer lists; call before the roles are synced. A post a decision ended is not re-created, a
    renewed term keeps its start, and posts at `closed_centers` (revoked) are neither created nor
    ended: what the cases decided stands (`kept` says what and why)."""
    current = session.exec(select(Appointment).where(Appointment.person_id == person_id,
                                                     Appointment.ended_on.is_(None))).all()
    held = {(a.role, a.center_id): a for a in current}
    wanted = {(p.post, p.center_id) for p in listed}
    decided = _decided_ends(session, person_id)
    result = PostSync()
    for post in listed:
        key = (post.post, post.center_id)
        start = post.term_start or today
        row = held.get(key)
        if row is None and key in decided:
            ended = decided[key]
            result.kept.append(KeptDecision(post.post, post.center_id, ended.ended_on, ended.ended_reason,
                                            decision_article(ended.ended_reason)))
        elif row is None and post.center_id not in closed_centers:
            session.add(Appointment(
                center_id=post.center_id, person_id=person_id, role=post.post, group=post.group,
                group_role=post.group_role, term_start=start, term_end=term_end(start),
                consecutive_terms=post.consecutive_terms if post.post == "director" else 1,
                department_head=post.department_head, provincial_society_member=post.provincial_society_member,
                title_exception=post.title_exception, source=DIRECTORY))
            result.changed += 1
        elif (row is not None and row.source == DIRECTORY and post.term_start is not None
              and row.term_start != post.term_start):
            if _renewed(session, person_id, post.post, post.center_id):
                result.kept.append(KeptDecision(post.post, post.center_id, None,
                                                f"已续聘，本届任期自 {row.term_start.isoformat()} 起", "Y§26"))
                continue
            row.term_start, row.term_end = post.term_start, term_end(post.term_start)
            session.add(row)
            result.changed += 1
    for key, row in held.items():
        if row.source == DIRECTORY and key not in wanted and row.center_id not in closed_centers:
            row.ended_on, row.ended_reason = today, ENDED_BY_DIRECTORY
            session.add(row)
            result.ended += 1
    session.flush()
    return result


def set_directory_term_start(session: Session, center_id: int, person_id: int, post: str, start: date) -> bool:
    """Move the start (and so the end) of a current directory appointment whose term was never renewed,
    e.g. the demo's term ending soon; a file that gives no `term_start` leaves it so. False: no such post."""
    row = session.exec(select(Appointment).where(Appointment.center_id == center_id,
                                                 Appointment.person_id == person_id, Appointment.role == post,
                                                 Appointment.ended_on.is_(None))).first()
    if row is None or row.source != DIRECTORY or _renewed(session, person_id, post, center_id):
        return False
    row.term_start, row.term_end = start, term_end(start)
    session.add(row)
    session.flush()
    return True


# --- Y§26, Y§27: terms renewed, posts vacated and filled, the old host's posts ended (issue 10) ---

def current_posts(session: Session, center_id: int) -> list[tuple[Appointment, Person]]:
    return list(session.exec(select(Appointment, Person).join(Person, Person.id == Appointment.person_id)
                             .where(Appointment.center_id == center_id, Appointment.ended_on.is_(None))
                             .order_by(Appointment.id)).all())


def renew_terms(session: Session, center_id: int, last_day: date) -> list[str]:
    """Y§26(二) reappointment: every post whose term ends on `last_day` starts its next term the day after
    (the role goes on: the new appointment holds it). Returns the names renewed."""
    start = last_day + timedelta(days=1)
    renewed = []
    for old, person in current_posts(session, center_id):
        if old.term_end != last_day:
            continue
        old.ended_on, old.ended_reason = last_day, RENEWED
        session.add(old)
        session.add(Appointment(
            center_id=center_id, person_id=old.person_id, role=old.role, group=old.group, group_role=old.group_role,
            term_start=start, term_end=term_end(start), consecutive_terms=old.consecutive_terms + 1,
            department_head=old.department_head, provincial_society_member=old.provincial_society_member,
            title_exception=old.title_exception, source=old.source))
        renewed.append(person.name)
    session.flush()
    return renewed


def vacate_post(session: Session, center_id: int, person_id: int, post: str, day: date, why: str) -> Appointment:
    """Y§26(三): a director or deputy who cannot serve leaves the post at once; the vacancy case, not Y§10,
    governs the center until the post is filled."""
    found = session.exec(select(Appointment).where(Appointment.center_id == center_id,
                                                   Appointment.person_id == person_id, Appointment.role == post,
                                                   Appointment.ended_on.is_(None))).first()
    if found is None:
        raise Refused([Reason("Y§26", "该人员目前不在此职务上，无法登记空缺")])
    _end(session, found, day, why)
    return found


def appoint_to_post(session: Session, center_id: int, person: Person, post: str, day: date, *,
                    consecutive: int = 1, department_head: bool = False,
                    provincial_society_member: bool = False) -> Appointment:
    """A person appointed to a post for a new 4-year term (Y§26(一)) from `day`; they hold its role."""
    row = Appointment(center_id=center_id, person_id=person.id, role=post, term_start=day, term_end=term_end(day),
                      consecutive_terms=consecutive, department_head=department_head,
                      provincial_society_member=provincial_society_member)
    session.add(row)
    session.flush()
    grant_post(session, person.id, post, center_id)
    return row


def end_institution_posts(session: Session, center_id: int, institution_id: int, day: date, why: str) -> list[str]:
    """Y§27: once the handover is done the old host's people leave the center's posts (and roles)."""
    ended = []
    for appointment, person in current_posts(session, center_id):
        if person.institution_id == institution_id:
            _end(session, appointment, day, why)
            ended.append(person.name)
    return ended


def vacant_posts(session: Session, center_id: int) -> list[str]:
    """The posts recorded vacant on a center whose vacancy case is still open (Y§26(三))."""
    return [str((data or {}).get("post")) for data, state in session.exec(select(Case.data, Case.state).where(
                Case.kind == "vacancy", Case.center_id == center_id)).all()
            if state not in VACANCY.final]
