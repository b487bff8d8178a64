"""The overview pages: the cases, what is due, the death-review counts."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from qcflow.core.clock import local_date, utcnow
from qcflow.core.runtime import get_settings
from qcflow.services.deaths import summary
from qcflow.services.queries import case_rows, due_rows
from qcflow.services.registry import center_rows
from qcflow.store.db import unit_of_work
from states.registry import WORKFLOWS
from web.render import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    with unit_of_work(read_only=True) as session:
        rows = {kind: case_rows(session, kind) for kind in WORKFLOWS}
    return page(request, "home.html", rows=rows, workflows=WORKFLOWS,
            sink=not get_settings().smtp_host)


@router.get("/due", response_class=HTMLResponse)
def due(request: Request, center: str = "", late: bool = False) -> HTMLResponse:
    """What is due and what is late, for one center or the whole commission."""
    with unit_of_work(read_only=True) as session:
        rows = due_rows(session, local_date(utcnow()), center or None)
        centers = center_rows(session)
    if late:
        rows = [r for r in rows if r["late"]]
    return page(request, "due.html", rows=rows, centers=centers, center=center, late=late,
                 late_count=sum(r["late"] for r in rows))


@router.get("/deaths", response_class=HTMLResponse)
def deaths_summary(request: Request) -> HTMLResponse:
    """Counts only: reported, screened, low-risk, reviewed, on time, actions open and overdue."""
    with unit_of_work(read_only=True) as session:
        result = summary(session)
    return page(request, "deaths.html", result=result)
