"""The overview pages: the commission's overview (home), search, what is due, the death-review counts."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from qcflow.core.clock import local_date, utcnow
from qcflow.core.runtime import get_settings
from qcflow.services.access import visible_due
from qcflow.services.meetings import dispatch_obligations
from qcflow.services.deaths import summary
from qcflow.services.pages import Filters, overview, search
from qcflow.services.registry import center_rows
from qcflow.store.db import unit_of_work
from states.registry import WORKFLOWS
from states.rules import Refused
from web.auth import signed_in
from web.mailbox import local_sink_on
from web.render import page

router = APIRouter()


def _person_id(request: Request):
    person = signed_in(request)
    return person.id if person else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """Centers with their status, open cases per kind and state, overdue obligations; one click into each."""
    with unit_of_work(read_only=True) as session:
        result = overview(session, _person_id(request), local_date(utcnow()))
    return page(request, "home.html", **result, sink=local_sink_on(get_settings()))


@router.get("/search", response_class=HTMLResponse)
def find(request: Request, kind: str = "", state: str = "", center: str = "", number: str = "",
         q: str = "") -> HTMLResponse:
    """Cases by kind, state, center, 文号 and title, 50 a page, newest first."""
    try:  # a hand-typed page number that is not a number is the first page, not an error
        wanted = int(request.query_params.get("page", "1") or 1)
    except ValueError:
        wanted = 1
    filters = Filters(kind=kind, state=state if kind else "", center=center, number=number, q=q, page=wanted)
    with unit_of_work(read_only=True) as session:
        centers = center_rows(session)
        try:
            result = search(session, _person_id(request), filters)
            reasons = []
        except Refused as refused:
            result, reasons = None, refused.reasons
    return page(request, "search.html", 422 if reasons else 200, result=result, reasons=reasons, filters=filters,
                centers=centers, workflows=WORKFLOWS)


@router.get("/due", response_class=HTMLResponse)
def due(request: Request, center: str = "", late: bool = False) -> HTMLResponse:
    """What is due and what is late, for one center or the whole commission."""
    with unit_of_work(read_only=True) as session:
        rows = visible_due(session, local_date(utcnow()), _person_id(request), center or None)
        centers = center_rows(session)
        known = center in {c["code"] for c in centers}
        dispatch = dispatch_obligations(session, local_date(utcnow()), center) if known or not center else []  # H4
    if late:
        rows = [r for r in rows if r["late"]]
    return page(request, "due.html", rows=rows, centers=centers, center=center, late=late,
                late_count=sum(r["late"] for r in rows), dispatch=dispatch)


@router.get("/deaths", response_class=HTMLResponse)
def deaths_summary(request: Request) -> HTMLResponse:
    """Counts only: reported, screened, low-risk, reviewed, on time, actions open and overdue."""
    with unit_of_work(read_only=True) as session:
        result = summary(session)
    return page(request, "deaths.html", result=result)
