"""The must-know compendium's public page (H2): every published version of a specialty, its items and
files for download, with no sign-in; a signed-in person records that they studied a version (POST)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qcflow.core.errors import UserError
from qcflow.services import compendium
from qcflow.services.registry import center_rows
from qcflow.store.db import unit_of_work
from web.auth import read_checked_form, signed_in
from web.render import not_found, page

router = APIRouter()


@router.get("/compendium", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """Every specialty with a center, and how many versions of its compendium were published."""
    with unit_of_work(read_only=True) as session:
        rows = [{"specialty": s, "center": c, "versions": compendium.published(session, s)}
                for s, c in specialties_with_centers(session)]
    return page(request, "compendium_index.html", rows=rows)


def specialties_with_centers(session) -> list[tuple[str, str]]:
    """(specialty, its center's name), one per specialty, in the registry's order."""
    seen: dict[str, str] = {}
    for row in center_rows(session):
        if row["specialty"] and (row["specialty"] not in seen or row["status"] == "active"):
            seen[row["specialty"]] = row["name"]
    return list(seen.items())


@router.get("/compendium/{specialty}", response_class=HTMLResponse)
def public_page(request: Request, specialty: str, studied: str = "") -> HTMLResponse:
    """Only what was published: drafts and versions under review are not shown to anyone here."""
    with unit_of_work(read_only=True) as session:
        versions = compendium.published(session, specialty)
    return page(request, "compendium.html", specialty=specialty, versions=versions, person=signed_in(request),
                studied=studied)


@router.get("/compendium/{specialty}/v{version}/files/{name}")
def download(request: Request, specialty: str, version: int, name: str) -> Response:
    try:
        with unit_of_work(read_only=True) as session:
            found = compendium.published_file(session, specialty, version, name)
    except UserError as err:
        return not_found(request, "没有这个附件", str(err))
    disposition = f"attachment; filename*=UTF-8''{quote(found.name)}"
    return Response(found.content, media_type=found.content_type,
                    headers={"Content-Disposition": disposition, "X-Content-SHA256": found.sha256})


@router.post("/compendium/{specialty}/v{version}/studied")
async def studied(request: Request, specialty: str, version: int) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    person = signed_in(request)
    if person is None:
        return page(request, "problem.html", 403, title="请先登录", case=None,
                    explanation="学习记录计入本机构人员的学习情况和质控中心的述职评价（H2），须登录后登记。")
    try:
        with unit_of_work() as session:
            compendium.record_study(session, person.id, specialty, version)
    except UserError as err:
        return not_found(request, "无法登记学习", str(err))
    return RedirectResponse(f"/compendium/{quote(specialty)}?studied={version}", status_code=303)
