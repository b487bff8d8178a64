"""The indicator dashboard (H3): per specialty and year, by area, level and institution, against the
means and targets; click an area to see its institutions. What a person sees is decided by the read
service (Y§22: institutions only for the commission and the specialty's center)."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from qcflow.core.errors import UserError
from qcflow.services.indicators import dashboard
from qcflow.store.db import unit_of_work
from states.indicator_analysis import fmt_gap, fmt_rate
from web.auth import signed_in
from web.render import page, templates

router = APIRouter()
templates.env.filters["indicator_rate"] = lambda value, unit="%": fmt_rate(value, unit)
templates.env.filters["indicator_gap"] = lambda value, unit="%": fmt_gap(value, unit)


def _year(text: str) -> Optional[int]:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise UserError(f"年份“{text}”不是四位年份")
    return int(text)


@router.get("/indicators", response_class=HTMLResponse)
def indicators(request: Request, specialty: str = "", year: str = "", city: str = "", level: str = "") -> HTMLResponse:
    person = signed_in(request)
    try:
        with unit_of_work(read_only=True) as session:
            result = dashboard(session, person.id if person else None, specialty or None, _year(year),
                               city or None, level or None)
    except UserError as err:
        return page(request, "problem.html", 400, title="无法显示指标分析", explanation=str(err), case=None)
    return page(request, "indicators.html", result=result, person=person)
