"""Host change and handover (Y§27): the commission's decision moves the center to its new host and opens
the handover case, due 1 month after the change is announced; when both hosts have confirmed the list,
the old host's people leave the center's posts (their roles end through the registry and roles.py)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from models import Case, Center, Institution
from qcflow import engine
from qcflow.core.clock import local_date
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services.registry import end_institution_posts
from qcflow.services.vacancies import host_leader_ids
from states import handover as H
from states.roster import may_change
from states.rules import Reason, Refused
from states.terms import add_months

FIELDS = ("new_host", "announced_on", "basis")


def change_host(session: Session, code: str, email: str, data: Any, now: datetime) -> dict[str, Any]:
    """The commission's host change (Y§26, Y§27): the center's host becomes the new one at once, and a
    handover case opens for the old host to hand over within 1 month of the announcement."""
    actor = engine.actor_of(session, engine.person_by_email(session, email))
    if reasons := may_change(actor):
        raise Refused([Reason(H.RULE, f"挂靠单位变更由卫健委（医政医管科）决定，{actor.name}没有此权限")])
    if not isinstance(data, dict):
        raise UserError("数据应为键值映射：new_host、announced_on、basis")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise UserError(f"无法识别的字段：{'、'.join(unknown)}；可用字段：{'、'.join(FIELDS)}")
    clean = {k: str(data.get(k) or "").strip() for k in FIELDS}
    if reasons := H.validate_new({**clean, "old_host": "-"}):
        raise Refused(reasons)
    center = session.exec(select(Center).where(Center.code == code)).first()
    if center is None:
        raise Refused([Reason("", f"没有代码为“{code}”的质控中心")])
    old = session.get(Institution, center.host_institution_id)
    new = session.exec(select(Institution).where(Institution.code == clean["new_host"])).first()
    if new is None:
        raise Refused([Reason(H.RULE, f"新挂靠单位代码“{clean['new_host']}”不在名录的 institutions 中")])
    if new.id == old.id:
        raise Refused([Reason(H.RULE, f"{new.name}已是{center.name}的挂靠单位")])
    announced = date.fromisoformat(clean["announced_on"])
    if announced > local_date(now):
        raise Refused([Reason(H.RULE, f"变更结果发布日期 {announced.isoformat()} 晚于今天；发布后才能登记")])
    due = add_months(announced, H.HANDOVER_MONTHS.value)
    center.host_institution_id = new.id
    session.add(center)
    session.flush()
    case = engine.open_case(
        session, "handover", center, title=f"{center.name}挂靠单位变更交接（{old.name} → {new.name}）",
        data={**clean, "old_host": old.code, "old_host_name": old.name, "new_host_name": new.name,
              "due_date": due.isoformat(), "changed_by": actor.name},
        key=f"handover:{center.code}:{old.code}:{new.code}:{announced.isoformat()}", now=now)
    if case is None:
        raise Refused([Reason(H.RULE, "该挂靠单位变更已登记过，交接事项已存在")])
    return {"center": code, "old_host": old.code, "new_host": new.code, "due": due.isoformat(), "case_id": case.id}


@plugins.provides_facts("handover")
def _handover_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    ids = {}
    for side in ("old", "new"):
        found = session.exec(select(Institution).where(Institution.code == str(data.get(f"{side}_host")))).first()
        ids[f"{side}_leader_ids"] = host_leader_ids(session, found.id if found else None)
    return ids


@plugins.effect("end_old_host_access")
def _end_old_host_access(session: Session, case: Case, now: datetime) -> None:
    old = session.exec(select(Institution).where(Institution.code == case.data["old_host"])).one()
    end_institution_posts(session, case.center_id, old.id, local_date(now),
                          f"挂靠单位变更交接完成（Y§27），原挂靠单位{old.name}人员离任")
