"""The annual report's pages (H6): a draft's preview for those allowed (Y§22), and the published
versions for anyone, as HTML and as PDF, exactly as they were published."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from qcflow.core.errors import UserError
from qcflow.services import annual_report
from qcflow.services.report_render import render_pdf
from qcflow.store.db import unit_of_work
from states.rules import Refused
from web.auth import signed_in
from web.compendium import specialties_with_centers
from web.render import not_found, page

router = APIRouter()


def _refused(request: Request, err: Refused) -> HTMLResponse:
    return page(request, "problem.html", 403, title="不能预览这份报告", case=None,
                explanation="；".join(str(r) for r in err.reasons))


@router.get("/annual-report/preview/{case_id}.pdf")
def preview_pdf(request: Request, case_id: int) -> Response:
    person = signed_in(request)
    try:
        with unit_of_work(read_only=True) as session:
            case, html = annual_report.preview(session, case_id, person.id if person else None)
    except Refused as err:
        return _refused(request, err)
    name = quote(f"{case.title}-预览.pdf")
    return Response(render_pdf(html), media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"})


@router.get("/annual-report/preview/{case_id}", response_class=HTMLResponse)
def preview(request: Request, case_id: int) -> HTMLResponse:
    person = signed_in(request)
    try:
        with unit_of_work(read_only=True) as session:
            _case, html = annual_report.preview(session, case_id, person.id if person else None)
    except Refused as err:
        return _refused(request, err)
    return HTMLResponse(html)


@router.get("/annual-report", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """Every specialty with a center, and its published reports."""
    with unit_of_work(read_only=True) as session:
        rows = [{"specialty": s, "center": c, "versions": annual_report.published_versions(session, s)}
                for s, c in specialties_with_centers(session)]
    return page(request, "annual_report_index.html", rows=rows)


@router.get("/annual-report/{specialty}", response_class=HTMLResponse)
def published_list(request: Request, specialty: str) -> HTMLResponse:
    with unit_of_work(read_only=True) as session:
        versions = annual_report.published_versions(session, specialty)
    return page(request, "annual_reports.html", specialty=specialty, versions=versions)


@router.get("/annual-report/{specialty}/{year}/v{version}.{fmt}")
def published(request: Request, specialty: str, year: int, version: int, fmt: str) -> Response:
    if fmt not in ("html", "pdf"):
        return not_found(request, "没有这种格式", "年度报告提供 .html 和 .pdf 两种格式")
    try:
        with unit_of_work(read_only=True) as session:
            row = annual_report.published_file(session, specialty, year, version)
    except UserError as err:
        return not_found(request, "没有这份报告", str(err))
    if fmt == "html":
        return HTMLResponse(row.html, headers={"X-Content-SHA256": row.html_sha256})
    name = quote(f"{row.title}.pdf")
    return Response(row.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}", "X-Content-SHA256": row.pdf_sha256})
