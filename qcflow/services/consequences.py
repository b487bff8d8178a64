"""What follows a published grade or an issued rectification order (Y§24–§26).

Part A (the assessment) calls `after_grade_published` at each publication; every issued order
(from the CLI, the web or a 不合格 grade) calls `after_order_issued` through its `order_issued`
effect. Both evaluate the Y§26 rules (states/removal.py) on what is stored and open a removal case
per ground and year that holds, once (the case's key). Only the commission's decision on that case
removes anyone (`remove_director_and_host`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Person, RoleAssignment
from models.assessment import AssessmentResult
from qcflow import engine
from qcflow.core.clock import local_date
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services.registry import current_posts, vacate_post
from qcflow.services.roles import end_post
from states import rectification as R
from states import removal
from states.removal import FAILING_GRADE, OrderFact

REMOVED_WHY = "依据第二十六条免去主任职务（动态管理事项 #{case_id}）"


def center_by_code(session: Session, code: str) -> Center:
    center = session.exec(select(Center).where(Center.code == str(code or "").strip())).first()
    if center is None:
        raise UserError(f"没有代码为“{code}”的质控中心；可用 qcflow center list 查看")
    return center


def published_grades(session: Session, center_code: str) -> dict[int, str]:
    """The center's published annual grades by year (Y§24; a row is written at publication)."""
    rows = session.exec(select(AssessmentResult).where(AssessmentResult.center_code == center_code)).all()
    return {int(r.year): str(r.grade) for r in rows}


def order_facts(session: Session, center_id: int) -> list[OrderFact]:
    """Every rectification order issued to the center, as the Y§26 rule counts them."""
    rows = session.exec(select(Case).where(Case.kind == "rectification", Case.center_id == center_id)
                        .order_by(Case.id)).all()
    return [OrderFact(c.id, int(c.data.get("year") or local_date(c.created_at).year), c.title, R.is_serious(c.data))
            for c in rows]


def directors(session: Session, center_id: int) -> list[tuple[str, str]]:
    """The serving director(s) as (name, email): by appointment, or by the role the directory gave."""
    found = {p.email: p.name for a, p in current_posts(session, center_id) if a.role == "director"}
    for person in session.exec(select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                               .where(RoleAssignment.role == "center_director",
                                      RoleAssignment.center_id == center_id)).all():
        found.setdefault(person.email, person.name)
    return [(name, email) for email, name in sorted(found.items())]


def _removal_ids(session: Session, center_id: int) -> set[int]:
    return set(session.exec(select(Case.id).where(Case.kind == "removal", Case.center_id == center_id)).all())


def evaluate(session: Session, center: Center, now: datetime) -> list[int]:
    """Y§26 on the center's record: open each removal case whose ground holds and is not open yet."""
    if center.status != "active":
        return []  # a revoked center has no director or host left to remove
    opened = []
    findings = removal.removal_grounds(order_facts(session, center.id), published_grades(session, center.code))
    people = directors(session, center.id) if findings else []
    for finding in findings:
        data = removal.case_data(finding, center.name, people)
        case = engine.open_case(session, "removal", center, title=data["title"], data=data,
                                key=finding.key(center.code), now=now)
        if case is not None:
            opened.append(case.id)
    return opened


def assessment_order_data(center: Center, year: int, now: datetime) -> dict[str, Any]:
    """The order a 不合格 grade opens (Y§24: 限期整改), due after the policy's months."""
    issued = local_date(now)
    data: dict[str, Any] = {
        "basis": R.ASSESSMENT_RULE, "grounds": [], "assessment_year": year, "year": issued.year,
        "issued_on": issued.isoformat(), "due_date": R.assessment_due(issued).isoformat(),
        "requirements": f"针对{year}年度考核的扣分项和否决项逐项整改，报送整改情况报告（整改措施、完成情况和佐证材料）。",
        "serious": False, "serious_reason": "", "response": ""}
    data["title"] = R.title_for(center.name, data)
    data["notice"] = R.notice_text(data, center.name)
    return data


def after_grade_published(session: Session, center_code: str, year: int, grade: str, now: datetime) -> list[int]:
    """A 不合格 grade opens a rectification order citing Y§24 (once per center and year); then the
    Y§26 rules are evaluated (two failing years). The ids of every case opened."""
    center = center_by_code(session, center_code)
    before = _removal_ids(session, center.id)
    opened: list[int] = []
    if grade == FAILING_GRADE:
        data = assessment_order_data(center, year, now)
        order = engine.open_case(session, "rectification", center, title=data["title"], data=data,
                                 key=f"order:{center.code}:assessment:{year}", now=now)
        if order is not None:
            opened.append(order.id)
    evaluate(session, center, now)
    return opened + sorted(_removal_ids(session, center.id) - before)


def after_order_issued(session: Session, center_code: str, now: datetime) -> list[int]:
    """After an order is issued: the Y§26 rules on the center (serious case, two orders a year)."""
    return evaluate(session, center_by_code(session, center_code), now)


@plugins.effect("order_issued")
def _order_issued(session: Session, case: Case, now: datetime) -> None:
    center = session.get(Center, case.center_id)
    if center is not None:
        after_order_issued(session, center.code, now)


@plugins.effect("remove_director_and_host")
def remove_director_and_host(session: Session, case: Case, now: datetime) -> Optional[Center]:
    """The commission decided (Y§26): the director leaves the post, the host's qualification is revoked
    (the center's status), and the specialty is open to a new selection under Y§8–§13."""
    center = session.get(Center, case.center_id)
    if center is None:
        return None
    day, why = local_date(now), REMOVED_WHY.format(case_id=case.id)
    for appointment, person in current_posts(session, center.id):
        if appointment.role == "director":
            vacate_post(session, center.id, person.id, "director", day, why)
    for person_id in session.exec(select(RoleAssignment.person_id).where(
            RoleAssignment.role == "center_director", RoleAssignment.center_id == center.id)).all():
        end_post(session, person_id, "director", center.id)  # a role the directory gave, with no appointment
    center.status = "revoked"
    session.add(center)
    session.flush()
    return center
