"""The assessment pages: a year's campaign progress, its published ranking and funding declarations
(/assessment/{year}), and a center's grades over the years (/assessment/center/{code})."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from qcflow.core.clock import today

from qcflow.services import assessment
from qcflow.store.db import unit_of_work
from states.rules import Refused
from web.render import page

router = APIRouter()


@router.get("/assessment")
def this_year(request: Request) -> RedirectResponse:
    """The latest year with an assessment opened or published, else this year."""
    with unit_of_work(read_only=True) as session:
        year = assessment.latest_year(session) or today().year
    return RedirectResponse(f"/assessment/{year}", status_code=303)


@router.get("/assessment/{year}", response_class=HTMLResponse)
def year_page(request: Request, year: str) -> HTMLResponse:
    """The year's published ranking, each center's progress, and the host units' funding declarations."""
    if not (year.isascii() and year.isdigit() and len(year) == 4 and 2000 <= int(year) <= 2100):
        return page(request, "problem.html", 404, title="没有该年度的考核", case=None,
                    explanation=f"“{year[:20]}”不是有效的年度（2000–2100）。")
    number = int(year)
    with unit_of_work(read_only=True) as session:
        rubric = assessment.current_rubric(session, number)
        context = {"year": number, "ranking": assessment.ranking(session, number),
                   "progress": assessment.progress(session, number), "funding": assessment.funding_rows(session, number),
                   "label": rubric.label if rubric else "年度考核", "rubric_version": rubric.version if rubric else None}
    return page(request, "assessment_year.html", **context)


@router.get("/assessment/center/{code}", response_class=HTMLResponse)
def center_history(request: Request, code: str) -> HTMLResponse:
    """A center's published grades, year by year."""
    try:
        with unit_of_work(read_only=True) as session:
            rows = assessment.history(session, code)
    except Refused as refused:
        return page(request, "problem.html", 404, title="找不到此质控中心", case=None,
                    explanation="；".join(str(r) for r in refused.reasons))
    return page(request, "assessment_history.html", code=code, rows=rows)
