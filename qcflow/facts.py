"""Facts the pure rules need from outside a case (the directory, the registry, the clock).

The workflow's guards stay pure: the engine gathers these and hands them over in the CaseView.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session

from models import Case


def facts_for(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    provider = PROVIDERS.get(case.kind)
    return provider(session, case, now) if provider else {}


def _application(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    from qcflow.applications import application_facts

    return application_facts(session, case, now)


def _death_review(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    from qcflow.deaths import review_facts

    return review_facts(session, case, now)


PROVIDERS: dict[str, Callable[[Session, Case, datetime], dict[str, Any]]] = {
    "application": _application,
    "death_review": _death_review,
}
