"""H1: improvement-goal plans — the facts their rules need, the targets their approval writes, and reads."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center
from models.improvement import ImprovementTarget
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from states.improvement_plan import number

KIND = "improvement_plan"


def _specialty(session: Session, case: Case) -> str:
    center = session.get(Center, case.center_id) if case.center_id is not None else None
    if center is None:
        raise UserError(f"改进目标工作方案 #{case.id} 没有所属质控中心")
    return center.specialty


@plugins.provides_facts(KIND)
def plan_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """H1: one approved plan per specialty and year (the targets it writes are the year's lines)."""
    other = session.exec(select(Case.id).where(Case.kind == KIND, Case.state == "approved",
                                               Case.center_id == case.center_id, Case.id != case.id)).all()
    same_year = [cid for cid in other if str(session.get(Case, cid).data.get("year")) == str(data.get("year"))]
    return {"approved_plan_same_year": same_year[0] if same_year else None}


@plugins.effect("write_improvement_targets")
def write_targets(session: Session, case: Case, now: datetime) -> list[ImprovementTarget]:
    """On approval, each goal's target becomes the line part A's analysis measures against."""
    specialty, year = _specialty(session, case), int(case.data["year"])
    rows = [ImprovementTarget(plan_case_id=case.id, specialty=specialty, year=year,
                              goal_code=str(goal["goal_code"]).strip(), indicator_code=str(goal["indicator_code"]).strip(),
                              target_value=number(goal["target_value"]), direction=str(goal["direction"]).strip(),
                              approved_at=now)
            for goal in case.data.get("goals", [])]
    session.add_all(rows)
    session.flush()
    return rows


def targets(session: Session, specialty: str, year: int) -> list[dict[str, Any]]:
    """The approved targets of a specialty's year, by indicator code."""
    rows = session.exec(select(ImprovementTarget).where(ImprovementTarget.specialty == specialty,
                                                        ImprovementTarget.year == year)
                        .order_by(ImprovementTarget.indicator_code)).all()
    return [{"goal_code": r.goal_code, "indicator_code": r.indicator_code, "target_value": r.target_value,
             "direction": r.direction, "plan_case_id": r.plan_case_id} for r in rows]


def plan_of(session: Session, center_code: str, year: int) -> Optional[dict[str, Any]]:
    """The center's plan for the year (the approved one if there is one, else the latest), with its goals."""
    center = session.exec(select(Center).where(Center.code == center_code)).first()
    if center is None:
        raise UserError(f"没有代码为“{center_code}”的质控中心")
    cases = [c for c in session.exec(select(Case).where(Case.kind == KIND, Case.center_id == center.id)
                                     .order_by(Case.id)).all() if str(c.data.get("year")) == str(year)]
    if not cases:
        return None
    chosen = next((c for c in cases if c.state == "approved"), cases[-1])
    return {"id": chosen.id, "title": chosen.title, "state": chosen.state, "year": year,
            "specialty": center.specialty, "center": center.code, "goals": chosen.data.get("goals", []),
            "measures": chosen.data.get("measures", []), "committee_opinion": chosen.data.get("committee_opinion", ""),
            "targets": targets(session, center.specialty, year) if chosen.state == "approved" else []}
