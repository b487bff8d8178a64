"""The registry pages: centers, people, roles and terms; a center's own page with its obligations."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from qcflow.core.clock import local_date, utcnow
from qcflow.services.pages import center_page, registry
from qcflow.store.db import unit_of_work
from states.rules import Refused
from web.auth import signed_in
from web.render import page

router = APIRouter()


@router.get("/centers", response_class=HTMLResponse)
def centers(request: Request) -> HTMLResponse:
    """Every center, the current terms, and the people with their roles."""
    with unit_of_work(read_only=True) as session:
        result = registry(session)
    return page(request, "registry.html", **result)


@router.get("/centers/{code}", response_class=HTMLResponse)
def center(request: Request, code: str) -> HTMLResponse:
    """One center: its obligations from the calendar and their status, what is due, its people."""
    person = signed_in(request)
    try:
        with unit_of_work(read_only=True) as session:
            result = center_page(session, code, person.id if person else None, local_date(utcnow()))
    except Refused as refused:
        return page(request, "case_problem.html", 404, title="找不到此质控中心",
                    explanation="；".join(str(r) for r in refused.reasons))
    return page(request, "center.html", **result)
