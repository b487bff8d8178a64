"""Rectification orders (Y§25, Y§24): the commission issues one; lists and counts per center and year.

Issuing goes through the engine (the workflow's creators and content rules); the `order_issued`
effect then evaluates Y§26 (qcflow.services.consequences). Lists read through the read service.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center
from qcflow import engine
from qcflow.core.clock import local_date
from qcflow.core.errors import UserError
from qcflow.services import access
from qcflow.services.consequences import center_by_code
from states import rectification as R
from states.rules import Reason, Refused
from states.y25_grounds import GROUNDS, RULE, ground_label


def _due(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise Refused([Reason(RULE, f"整改期限须为日期（YYYY-MM-DD），当前：{text or '未填'}")]) from None


def issue(session: Session, center_code: str, grounds: list[int], due: str, email: str, requirements: str,
          now: datetime, serious: bool = False, serious_reason: str = "") -> dict[str, Any]:
    """Issue an order to a center citing Y§25 grounds, due on `due`. Nothing is stored when any rule fails."""
    center = center_by_code(session, center_code)
    if reasons := R.WORKFLOW.check_create(engine.actor_by_email(session, email), center.id):
        raise Refused(reasons)  # who may issue, before what they wrote
    if center.status != "active":
        raise Refused([Reason(RULE, f"{center.name}的挂靠资格已撤销，不能再下达整改通知")])
    today = local_date(now)
    due_day = _due(due)
    data: dict[str, Any] = {
        "center": center.code, "basis": RULE, "grounds": list(grounds), "due_date": due_day.isoformat(),
        "requirements": str(requirements or "").strip(), "serious": bool(serious),
        "serious_reason": str(serious_reason or "").strip(), "year": today.year, "issued_on": today.isoformat(),
        "response": ""}
    faults = R.validate(data) + R.check_due(due_day, today)
    if faults:
        raise Refused(faults)
    data["title"] = R.title_for(center.name, data)
    data["notice"] = R.notice_text(data, center.name)
    before = set(_open_removals(session, center.id))
    case = engine.create_case(session, "rectification", email, data, now=now)
    removals = sorted(set(_open_removals(session, center.id)) - before)
    return {"id": case.id, "title": case.title, "center": center.code, "due_date": due_day.isoformat(),
            "grounds": [ground_label(g) for g in data["grounds"]], "serious": R.is_serious(data),
            "removals_opened": removals}


def _open_removals(session: Session, center_id: int) -> list[int]:
    return list(session.exec(select(Case.id).where(Case.kind == "removal", Case.center_id == center_id)).all())


def list_orders(session: Session, person_id: Optional[int], center: Optional[str] = None,
                year: Optional[int] = None) -> dict[str, Any]:
    """The orders this person may see, with counts per center and year (Y§26 counts them)."""
    if center:
        center_by_code(session, center)
    visible = {r["id"]: r for r in access.visible_rows(session, "rectification", person_id)}
    centers = {c.id: c for c in session.exec(select(Center)).all()}
    orders, counts = [], {}
    for case in session.exec(select(Case).where(Case.kind == "rectification").order_by(Case.id)).all():
        shown = visible.get(case.id)
        owner = centers.get(case.center_id)
        order_year = int(case.data.get("year") or local_date(case.created_at).year)
        if shown is None or owner is None or (center and owner.code != center) or (year and order_year != year):
            continue
        grounds = [g for g in R.grounds_of(case.data) if g in GROUNDS]
        orders.append({"id": case.id, "center": owner.code, "center_name": owner.name, "year": order_year,
                       "title": shown["title"], "state": case.state, "state_label": shown["state_label"],
                       "basis": case.data.get("basis", RULE), "grounds": grounds,
                       "due_date": case.data.get("due_date", ""), "serious": R.is_serious(case.data)})
        key = (owner.code, order_year)
        row = counts.setdefault(key, {"center": owner.code, "center_name": owner.name, "year": order_year,
                                      "orders": 0, "serious": 0, "open": 0})
        row["orders"] += 1
        row["serious"] += int(R.is_serious(case.data))
        row["open"] += int(case.state not in ("verified", "closed"))
    return {"orders": orders, "counts": [counts[k] for k in sorted(counts)]}


def parse_grounds(values: list[str]) -> list[int]:
    """`--ground 4 --ground 9` or `--ground 4,9` as numbers; anything else is bad input."""
    out: list[int] = []
    for value in values:
        for part in str(value).replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise UserError(f"--ground 须为第二十五条的项号 1–13，当前：{part}（{RULE}）")
            out.append(int(part))
    return out
