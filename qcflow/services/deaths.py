"""Death-case reviews: the facts their rules need, pseudonymized content and audited reading (Y§22),
and the picture of the work."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Institution, Person
from qcflow import engine
from qcflow.engine import plugins
from qcflow.core.clock import local_date, utcnow
from qcflow.services.access import log_access, readable_detail
from qcflow.services.deaths_import import patient_secret
from qcflow.store.calendar import calendar_for
from states.death_intake import without_identity
from states.death_review import DISCUSSION_WORKING_DAYS_INDICATOR, WORKFLOW
from states.rules import Reason, Refused


@plugins.provides_facts("death_review")
def review_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    people = {p.email: p.id for p in session.exec(select(Person)).all()}  # emails a step may name
    return {
        "assigned_ids": {people[e] for e in (str(x).lower() for x in data.get("reviewers", [])) if e in people},
        "action_owner_ids": {people[str(a.get("owner", "")).lower()] for a in data.get("actions", [])
                             if isinstance(a, dict) and str(a.get("owner", "")).lower() in people},
        "people": people,
        "centers": {c.code: c.id for c in session.exec(select(Center).where(Center.status == "active"))},
    }


@plugins.cleans_content("death_review")
def pseudonymized(session: Session, content: dict[str, Any]) -> dict[str, Any]:
    """Y§22 on every path into a case (form, CLI, page, import): no clear patient identity is stored."""
    stored, problems = without_identity(content, patient_secret())
    if problems:
        raise Refused([Reason("Y§22", p) for p in problems])
    return stored


def open_detail(session: Session, case_id: int, email: str, channel: str) -> dict[str, Any]:
    """A case's details for a person allowed to see them; the opening is written to the audit trail."""
    person = engine.person_by_email(session, email)
    return readable_detail(session, engine.load_case(session, "death_review", case_id), person.id, channel)


def summary(session: Session, today: Optional[date] = None) -> dict[str, list[dict[str, Any]]]:
    """Per center and per hospital: reported, low-risk, reviewed, discussed on time, actions open/overdue."""
    today = today or local_date(utcnow())
    calendar = calendar_for(session)
    centers = {c.id: c.name for c in session.exec(select(Center)).all()}
    hospitals = {i.code: i.name for i in session.exec(select(Institution)).all()}
    by_center: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_hospital: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reviewed_states = set(list(WORKFLOW.states)[list(WORKFLOW.states).index("discussed"):])
    for state, center_id, data in session.exec(select(Case.state, Case.center_id, Case.data)
                                               .where(Case.kind == "death_review")):
        counts = [by_hospital[hospitals.get(data.get("hospital"), data.get("hospital", ""))],
                  by_center[centers.get(center_id, "（未分派）")]]
        open_actions = [a for a in data.get("actions", []) if not a.get("evidence")] if state != "closed" else []
        overdue = [a for a in open_actions if str(a.get("due", "9999")) < today.isoformat()]
        held = (data.get("discussion") or {}).get("date")
        # The 2025 monitoring indicator counts discussions within 5 working days of death.
        within_indicator = bool(held) and calendar.working_days_between(
            date.fromisoformat(str(data["died_on"])), date.fromisoformat(str(held))) <= \
            DISCUSSION_WORKING_DAYS_INDICATOR.value
        for c in counts:
            c["reported"] += 1
            c["screened"] += state != "reported"
            c["low_risk"] += bool(data.get("low_risk"))
            c["reviewed"] += state in reviewed_states
            c["discussed_on_time"] += bool(data.get("discussed_on_time"))
            c["discussed_within_5_working_days"] += within_indicator
            c["actions_open"] += len(open_actions)
            c["actions_overdue"] += len(overdue)
    as_rows = lambda table: [{"name": k, **v} for k, v in sorted(table.items())]  # noqa: E731
    return {"centers": as_rows(by_center), "hospitals": as_rows(by_hospital)}


__all__ = ["log_access", "open_detail", "pseudonymized", "review_facts", "summary"]
