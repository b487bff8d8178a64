"""Case pages: /cases/{kind}/{id} shows a case to the signed-in person (or, for cases that are not
private, to anyone) with its history, diagram and the decisions open to them; a POST takes one
decision through the engine, then redirects back so a refresh does not post again."""
from __future__ import annotations

from typing import Any, Optional, Union
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from qcflow import engine
from qcflow.core.runtime import get_settings
from qcflow.services.applications import files_dir
from qcflow.services.access import reader_of
from qcflow.services.case_page import case_page
from qcflow.services.mail import deliver_outbox
from qcflow.store.db import unit_of_work
from states.diagram import layout
from states.downloads import may_download
from states.materials import SLOTS
from states.registry import WORKFLOWS
from states.rules import Conflict, Refused
from states.staffing import ROLES
from web import links
from web.auth import read_checked_form, signed_in
from web.forms import form_changes
from web.render import page, templates

router = APIRouter()
templates.env.globals["staff_roles"] = ROLES  # _case.html names roles, never their codes


def _path(kind: str, case_id: int) -> str:
    return f"/cases/{kind}/{case_id}"


def _refused_page(request: Request, refused: Refused, person: Any) -> HTMLResponse:
    """Not found and not allowed both show nothing of the case."""
    missing = any(not r.rule for r in refused.reasons)
    return page(request, "case_problem.html", 404 if missing else (403 if person else 401),
                title="找不到此事项" if missing else "不能查看此事项",
                explanation="；".join(str(r) for r in refused.reasons), case=None,
                login_next=None if person or missing else request.url.path)


def _render(request: Request, kind: str, case_id: int, person: Any, status: int = 200, reasons=(), form=None,
            done: str = "") -> HTMLResponse:
    if kind not in WORKFLOWS:
        return page(request, "case_problem.html", 404, title="找不到此事项", explanation=f"没有“{kind}”这类事项。", case=None)
    workflow = WORKFLOWS[kind]
    try:
        # Y§22: a private case's opening is recorded (in this transaction) before its details leave.
        with unit_of_work(read_only=not workflow.private) as session:
            context = case_page(session, kind, case_id, person.id if person else None)
            # "已办理" only for this person's own event on this case, as the history has it.
            done_labels = links.done_labels(session, kind, case_id, person.id if person else None, done)
    except Refused as refused:
        return _refused_page(request, refused, person)
    return page(request, "case.html", status, **context, person=person, diagram=layout(workflow, context["case"]["state"]),
                workflow=workflow, reasons=list(reasons), form=form or {}, done=done_labels, path=_path(kind, case_id))


@router.get("/cases/{kind}/{case_id}", response_class=HTMLResponse)
def show_case(request: Request, kind: str, case_id: int, done: str = "") -> HTMLResponse:
    """The case as this person may see it. Changes nothing (but records the opening of a private case)."""
    return _render(request, kind, case_id, signed_in(request), done=done)


@router.post("/cases/{kind}/{case_id}", response_model=None)
async def act_on_case(request: Request, kind: str, case_id: int) -> Union[HTMLResponse, RedirectResponse]:
    """Take one decision as the signed-in person, then go back to the case page (303)."""
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    person = await run_in_threadpool(signed_in, request)
    if person is None:
        return page(request, "case_problem.html", 401, title="请先登录", case=None, login_next=_path(kind, case_id),
                    explanation="在事项页面办理须先登录；也可以使用邮件中的办理链接。未做任何更改。")
    return await run_in_threadpool(_act, request, kind, case_id, person, form)


def _act(request: Request, kind: str, case_id: int, person: Any, form: dict[str, str]) -> Union[HTMLResponse, RedirectResponse]:
    decision = form.get("decision", "")
    try:
        with unit_of_work() as session:
            case = engine.load_case(session, kind, case_id, lock=True) if kind in WORKFLOWS else None
            if case is None:
                return _render(request, kind, case_id, person)
            engine.fire(session, kind, case_id, decision, person_id=person.id,
                         comment=form.get("comment", ""), changes=form_changes(case, decision, form),
                         expected_version=_seen_version(form))
            done = str(links.last_event_of(session, case_id, person.id) or "")
    except Refused as refused:
        return _render(request, kind, case_id, person, 422, refused.reasons, form)
    except Conflict as conflict:
        return page(request, "case_problem.html", 409, title="事项已有新进展，本次未做更改", case=None,
                    explanation=f"{conflict}。请打开事项页面查看最新状态后再办理。", back=_path(kind, case_id))
    answer = RedirectResponse(f"{_path(kind, case_id)}?done={quote(done)}", status_code=303)  # an event id
    if get_settings().deliver_after_action:
        answer.background = BackgroundTask(deliver_outbox)
    return answer


def _seen_version(form: dict[str, str]) -> Optional[int]:
    """The version the page showed: acting on an older view of the case is a conflict."""
    try:
        return int(form.get("version", ""))
    except ValueError:
        return None


@router.get("/cases/application/{case_id}/materials/{slot}", response_model=None)
def download_material(request: Request, case_id: int, slot: str) -> Union[HTMLResponse, FileResponse]:
    """One material file of an application, for the people who work on it (Y§22)."""
    person = signed_in(request)
    with unit_of_work(read_only=True) as session:
        try:
            case = engine.load_case(session, "application", case_id)
        except Refused as refused:
            return _refused_page(request, refused, person)
        actor = reader_of(session, person.id if person else None).actor
        reason = may_download(engine.view_of(session, case), actor)
        stored = (case.data.get("materials") or {}).get(slot)
    if reason is not None:
        return page(request, "case_problem.html", 403 if person else 401, title="不能下载此材料", explanation=str(reason),
                    case=None, login_next=None if person else request.url.path)
    if slot not in SLOTS or not stored:
        return page(request, "case_problem.html", 404, title="没有此材料", case=None,
                    explanation=f"申请 #{case_id} 尚未上传“{SLOTS.get(slot, slot)}”。")
    digest = str(stored.get("sha256", ""))
    target = files_dir() / digest[:2] / digest
    if len(digest) != 64 or not target.is_file():
        return page(request, "case_problem.html", 404, title="材料文件缺失", case=None,
                    explanation="登记的文件在服务器上找不到，请联系医政医管科。")
    return FileResponse(target, media_type=str(stored.get("content_type") or "application/octet-stream"),
                        filename=str(stored.get("filename") or slot))
