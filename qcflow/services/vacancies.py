"""Vacancies (Y§26(三)): what the vacancy workflow (states/vacancy.py) needs from the registry and
the directory, and what it does there: the post vacated when the vacancy is recorded, the nominee
judged by Y§11 on the appointment day, and appointed when the commission approves."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Institution, Person
from qcflow.core.clock import local_date
from qcflow.engine import plugins
from qcflow.services.applications import director_terms
from qcflow.services.registry import appoint_to_post, vacate_post
from qcflow.store.raw import Raw
from states import vacancy as V
from states.rules import Reason, Refused
from states.staffing import Member, Roster, check_leaders, check_reappointment, consecutive_terms, county_level
from states.terms import add_months


def _yes(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("yes", "是", "true")


def _day(value: Any) -> Optional[date]:
    try:
        return date.fromisoformat(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def host_leader_ids(session: Session, institution_id: Optional[int]) -> list[int]:
    """The people the host unit named as its leaders for its centers (Y§16)."""
    if institution_id is None:
        return []
    return [pid for (pid,) in Raw(session).rows(
        "SELECT DISTINCT p.id FROM person p JOIN roleassignment r ON r.person_id = p.id "
        "WHERE r.role = 'host_leader' AND p.institution_id = ?", [institution_id])]


@plugins.cleans_content("vacancy")
def _with_name_and_due_date(session: Session, content: dict[str, Any]) -> dict[str, Any]:
    """A new vacancy names the person and falls due 1 month after the post fell vacant (Y§26(三))."""
    if "since" not in content or "due_date" in content:
        return content
    since = _day(content.get("since"))
    email = str(content.get("email") or "").strip().lower()
    person = session.exec(select(Person).where(Person.email == email)).first() if email else None
    if email and person is None:
        raise Refused([Reason(V.RULE, f"人员名录中没有邮箱为 {email} 的人员")])
    return {**content, "email": email, "name": person.name if person else "",
            **({"due_date": add_months(since, V.RENOMINATE_MONTHS.value).isoformat()} if since else {})}


@plugins.provides_facts("vacancy")
def _vacancy_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    today = local_date(now)
    center = session.get(Center, case.center_id)
    host = session.get(Institution, center.host_institution_id) if center else None
    facts: dict[str, Any] = {"today": today, "host_leader_ids": host_leader_ids(session, host.id if host else None),
                             "host_name": host.name if host else "挂靠单位"}
    if data.get("nominee"):
        facts["nominee_reasons"] = _nominee_reasons(session, center, data, today)
    return facts


def _nominee_reasons(session: Session, center: Center, data: dict[str, Any], today: date) -> list[Reason]:
    """Y§11 (and Y§26(一) for a director) on the day the nominee would be appointed."""
    email = str(data.get("nominee") or "").strip().lower()
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is None:
        return [Reason(V.RULE, f"推荐人选 {email} 不在人员名录中，请先在名录中登记其职称、出生日期和单位")]
    if person.birth_date is None:
        return [Reason("Y§11", f"推荐人选 {person.name} 在名录中缺少出生日期，无法核对年龄条件")]
    day = _day(data.get("appointed_on")) or today
    institution = session.get(Institution, person.institution_id) if person.institution_id else None
    post = str(data.get("post"))
    member = Member(name=person.name, role=post, title=person.title, birth_date=person.birth_date,
                    institution_code=institution.code if institution else "",
                    institution_county_level=county_level(institution.county) if institution else None,
                    department_head=_yes(data.get("department_head")), penalty_dates=(),
                    provincial_society_member=_yes(data.get("provincial_society_member")))
    reasons = check_leaders(Roster(center.specialty, "", (member,)), day)
    if post == "director":
        served = consecutive_terms(director_terms(session, person.id, center.specialty), day)
        reasons += [Reason(r.rule, f"推荐人选 {person.name} {r.message}") for r in check_reappointment(served)]
    return reasons


@plugins.effect("vacate_post")
def _vacate(session: Session, case: Case, now: datetime) -> None:
    data = case.data
    person = session.exec(select(Person).where(Person.email == data["email"])).first()
    post_label = V.VACANT_POSTS[data["post"]]
    if person is None:
        raise Refused([Reason(V.RULE, f"人员名录中没有邮箱为 {data['email']} 的人员")])
    try:
        vacate_post(session, case.center_id, person.id, data["post"], _day(data["since"]) or local_date(now),
                    f"因故不能继续履职：{data['reason']}")
    except Refused:
        raise Refused([Reason(V.RULE, f"{person.name} 目前不是该中心的{post_label}，无法登记{post_label}空缺")]) from None


@plugins.effect("fill_vacancy")
def _fill(session: Session, case: Case, now: datetime) -> None:
    data = case.data
    center = session.get(Center, case.center_id)
    person = session.exec(select(Person).where(Person.email == str(data["nominee"]).strip().lower())).one()
    day = _day(data.get("appointed_on")) or local_date(now)
    served = (consecutive_terms(director_terms(session, person.id, center.specialty), day)
              if data["post"] == "director" else 0)
    appoint_to_post(session, center.id, person, data["post"], day, consecutive=served + 1,
                    department_head=_yes(data.get("department_head")),
                    provincial_society_member=_yes(data.get("provincial_society_member")))

